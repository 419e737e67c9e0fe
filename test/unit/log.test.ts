import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log.js';

test('a text log line escapes control characters, so a model name cannot forge a second line', () => {
  const lines: string[] = [];
  const log = createLogger({ format: 'text', verbose: false, write: (l) => lines.push(l) });
  log.error("failed to load 'evil\n2026-01-01T00:00:00.000Z INFO    all good'", { model: 'evil\r\n' });
  assert.is(lines.length, 1);
  assert.not.match(lines[0]!, /[\n\r]/);
  assert.match(lines[0]!, /failed to load 'evil\\u000a2026/);
  assert.match(lines[0]!, /model="evil\\r\\n"/);
});

test('a JSON log line carries the message as it was, escaped by JSON', () => {
  const lines: string[] = [];
  createLogger({ format: 'json', verbose: false, write: (l) => lines.push(l) }).info('a\nb');
  assert.is(JSON.parse(lines[0]!).msg, 'a\nb');
});

test.run();
