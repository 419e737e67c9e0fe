import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_LIMITS, LIMITS, limitsTable } from '../../src/limits.js';
import { OptionError, parseCli } from '../../src/cli-options.js';

test("the README's Limits table is the one src/limits.ts makes", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const m = /<!-- limits-table[^>]*-->\n([\s\S]*?)\n<!-- \/limits-table -->/.exec(readme);
  assert.ok(m, 'the README has the limits-table markers');
  assert.is(m![1], limitsTable());
});

test('every limit has a flag, and the CLI reads each with its default', () => {
  const opts = parseCli([]);
  for (const [name, spec] of Object.entries(LIMITS)) {
    assert.is(opts.limits[name as keyof typeof LIMITS], spec.default, name);
    assert.is(DEFAULT_LIMITS[name as keyof typeof LIMITS], spec.default, name);
  }
  assert.is(new Set(Object.values(LIMITS).map((l) => l.flag)).size, Object.keys(LIMITS).length, 'flags are distinct');
});

test('a limit flag outside its range is refused naming the flag and the range', () => {
  assert.is(parseCli(['--max-request-inputs=3']).limits.maxInputs, 3);
  assert.throws(
    () => parseCli(['--max-request-inputs=0']),
    (e: unknown) => e instanceof OptionError && /--max-request-inputs must be an integer in 1\.\.65536, got '0'/.test((e as Error).message),
  );
  assert.throws(
    () => parseCli(['--grpc-max-concurrent-streams=lots']),
    (e: unknown) => e instanceof OptionError && /--grpc-max-concurrent-streams/.test((e as Error).message),
  );
});

test.run();
