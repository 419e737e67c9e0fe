import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, ServeError } from '../../../src/errors.js';
import { ConfigError } from '../../../src/repository/config-file.js';
import { MAX_LOAD_FILES, checkOverrideFiles, configFromJson, stageFiles } from '../../../src/repository/load-override.js';

const folders = () => readdirSync(tmpdir()).filter((n) => n.startsWith('triton-ts-load-')).length;
const withFiles = (...names: string[]) => ({ configJson: '{}', files: Object.fromEntries(names.map((n) => [n, Uint8Array.of(1)])) });

test('file parameters that are not <version>/<path> inside the model folder are INVALID_ARGUMENT, and nothing is staged', () => {
  const before = folders();
  for (const bad of ['../x/model.onnx', '/abs', '1/../../x', 'x/model.onnx', '0/model.onnx', '1', '', '1//m', '01/m']) {
    assert.throws(
      () => stageFiles('m', withFiles(bad)),
      (e: unknown) => e instanceof ServeError && e.code === Code.INVALID_ARGUMENT,
      JSON.stringify(bad),
    );
  }
  const many = withFiles(...Array.from({ length: MAX_LOAD_FILES + 1 }, (_, i) => `1/f${i}`));
  assert.throws(() => checkOverrideFiles('m', many), /more than 64 file parameters/);
  assert.throws(() => checkOverrideFiles('m', { files: { '1/m': Uint8Array.of(1) } }), /needs a "config" parameter too/);
  assert.is(folders(), before);
});

test('a valid override is staged under <root>/<model>/', () => {
  const root = stageFiles('m', withFiles('1/model.onnx', '1/sub/extra.bin'));
  try {
    assert.ok(existsSync(join(root, 'm', '1', 'model.onnx')));
    assert.ok(existsSync(join(root, 'm', '1', 'sub', 'extra.bin')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a config that is not a JSON object is a ConfigError', () => {
  assert.throws(
    () => configFromJson('{', 'm'),
    (e: unknown) => e instanceof ConfigError && /is not JSON/.test((e as Error).message),
  );
  assert.throws(
    () => configFromJson('[1]', 'm'),
    (e: unknown) => e instanceof ConfigError && /must be a JSON object/.test((e as Error).message),
  );
  assert.is(configFromJson('{"name":"m","max_batch_size":4}', 'm').maxBatchSize, 4);
});

test('a file that is also a folder of another file parameter is INVALID_ARGUMENT before anything is written', () => {
  const before = folders();
  assert.throws(
    () => stageFiles('m', withFiles('1/a', '1/a/b')),
    (e: unknown) => e instanceof ServeError && e.code === Code.INVALID_ARGUMENT && /'file:1\/a' is also a folder of 'file:1\/a\/b'/.test(e.message),
  );
  assert.is(folders(), before);
});

test.run();
