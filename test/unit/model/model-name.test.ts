import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, ServeError } from '../../../src/errors.js';
import { checkModelName, isValidModelName } from '../../../src/model/model-name.js';

test('names that are not one safe path segment are INVALID_ARGUMENT stating the rule', () => {
  for (const bad of ['', '.', '..', '.hidden', 'a/b', 'a\\b', '../x', 'a\nb', 'a\u0000', 'x'.repeat(256), 'é', 'a b']) {
    assert.not.ok(isValidModelName(bad), JSON.stringify(bad));
    try {
      checkModelName(bad);
      assert.unreachable(JSON.stringify(bad));
    } catch (err) {
      assert.instance(err, ServeError);
      assert.is((err as ServeError).code, Code.INVALID_ARGUMENT);
      assert.match((err as Error).message, /a model name is 1 to 255 characters from A-Z a-z 0-9 _ \. - and does not start with '\.'/);
      // eslint-disable-next-line no-control-regex
      assert.not.match((err as Error).message, /[\u0000-\u001f]/, 'no raw control characters in the message');
    }
  }
});

test('ordinary names pass', () => {
  for (const good of ['simple', 'ocr_cls', 'a.b-c_1', '1', '-x', 'x'.repeat(255)]) {
    assert.ok(isValidModelName(good), good);
    checkModelName(good);
  }
});

test.run();
