import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, ServeError } from '../../../src/errors.js';
import type { InferParameter } from '../../../src/generated/inference/grpc_service.js';
import { MAX_REQUEST_TIMEOUT_US, checkInputParameters, checkOutputParameters, readRequestParameters } from '../../../src/core/request-parameters.js';

type Choice = NonNullable<InferParameter['parameterChoice']>;
const p = (c: Choice): InferParameter => ({ parameterChoice: c });
const bool = (value: boolean) => p({ $case: 'boolParam', value });
const i64 = (value: bigint) => p({ $case: 'int64Param', value });
const u64 = (value: bigint) => p({ $case: 'uint64Param', value });
const str = (value: string) => p({ $case: 'stringParam', value });
const dbl = (value: number) => p({ $case: 'doubleParam', value });

function refused(fn: () => unknown, pattern: RegExp, code: number = Code.INVALID_ARGUMENT): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ServeError);
    assert.is((err as ServeError).code, code, (err as Error).message);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a refusal matching ${pattern}`);
}

test("keys with Triton's reserved prefix are refused; triton_enable_empty_final_response only as a bool", () => {
  refused(
    () => readRequestParameters({ triton_x: bool(true) }, 'm'),
    /keys starting with 'triton_' are reserved.*'triton_enable_empty_final_response'.*\(got 'triton_x'\)/,
  );
  readRequestParameters({ triton_enable_empty_final_response: bool(true) }, 'm');
  refused(
    () => readRequestParameters({ triton_enable_empty_final_response: i64(1n) }, 'm'),
    /'triton_enable_empty_final_response' must be bool_param, got int64_param/,
  );
});

test('each request key with a meaning refuses the wrong value type, naming the key and the type expected', () => {
  const wrong: Array<[string, InferParameter, RegExp]> = [
    ['priority', str('high'), /'priority' must be int64_param or uint64_param, got string_param/],
    ['timeout', u64(5n), /'timeout' must be int64_param, got uint64_param/],
    ['sequence_id', bool(true), /'sequence_id' must be int64_param or string_param, got bool_param/],
    ['sequence_start', i64(1n), /'sequence_start' must be bool_param, got int64_param/],
    ['sequence_end', str('y'), /'sequence_end' must be bool_param, got string_param/],
    ['binary_data_output', i64(1n), /'binary_data_output' must be bool_param, got int64_param/],
    ['priority', { parameterChoice: undefined }, /'priority' must be int64_param or uint64_param, got no value/],
  ];
  for (const [key, value, pattern] of wrong) refused(() => readRequestParameters({ [key]: value }, "model 'm'"), pattern);
});

test('other keys may be int64, bool or string, as Triton passes them on; double and uint64 are refused', () => {
  readRequestParameters({ a: i64(1n), b: bool(false), c: str('x') }, 'm');
  refused(() => readRequestParameters({ a: dbl(0.5) }, 'm'), /'a' must be int64_param or bool_param or string_param, got double_param/);
  refused(() => readRequestParameters({ a: u64(1n) }, 'm'), /got uint64_param/);
});

test('priority and timeout: negative refused, huge clamped, absent zero', () => {
  refused(() => readRequestParameters({ priority: i64(-1n) }, 'm'), /'priority' must be >= 0, got -1/);
  refused(() => readRequestParameters({ timeout: i64(-1n) }, 'm'), /'timeout' must be >= 0 microseconds/);
  assert.is(readRequestParameters({ priority: u64(18446744073709551615n) }, 'm').priority, Number.MAX_SAFE_INTEGER);
  assert.is(readRequestParameters({ timeout: i64(9223372036854775807n) }, 'm').timeoutUs, MAX_REQUEST_TIMEOUT_US);
  assert.equal(readRequestParameters({ priority: i64(2n), timeout: i64(500n) }, 'm'), { priority: 2, timeoutUs: 500, sequence: false });
  assert.equal(readRequestParameters({}, 'm'), { priority: 0, timeoutUs: 0, sequence: false });
});

test('sequence parameters are reported when set, not when false or zero', () => {
  assert.is(readRequestParameters({ sequence_id: i64(7n) }, 'm').sequence, true);
  assert.is(readRequestParameters({ sequence_id: str('s') }, 'm').sequence, true);
  assert.is(readRequestParameters({ sequence_start: bool(false), sequence_id: i64(0n) }, 'm').sequence, false);
});

test('input and output keys are type-checked; shared memory references are read as Triton reads them; classification is UNIMPLEMENTED', () => {
  refused(() => checkInputParameters({ shared_memory_region: i64(1n) }, 'in'), /'shared_memory_region' must be string_param/);
  refused(() => checkInputParameters({ shared_memory_byte_size: str('1') }, 'in'), /'shared_memory_byte_size' must be int64_param/);
  refused(() => checkInputParameters({ shared_memory_region: str('r') }, 'in'), /'shared_memory_byte_size' must be given with 'shared_memory_region'/);
  refused(() => checkInputParameters({ shared_memory_offset: i64(8n) }, 'in'), /need 'shared_memory_region'/);
  refused(() => checkInputParameters({ shared_memory_region: str('r'), shared_memory_byte_size: i64(-1n) }, 'in'), /must be in 0\.\.2\^53-1/);
  assert.equal(checkInputParameters({ shared_memory_region: str('r'), shared_memory_byte_size: i64(64n) }, 'in'), { region: 'r', byteSize: 64, offset: 0 });
  assert.equal(checkOutputParameters({ shared_memory_region: str('r'), shared_memory_byte_size: i64(8n), shared_memory_offset: i64(16n) }, 'out'), {
    region: 'r',
    byteSize: 8,
    offset: 16,
  });
  refused(
    () => checkOutputParameters({ shared_memory_region: str('r'), shared_memory_byte_size: i64(8n), classification: i64(2n) }, 'out'),
    /both 'shared_memory_region' and 'classification'/,
  );
  assert.is(checkInputParameters({}, 'in'), undefined);
  refused(() => checkInputParameters({ binary_data_size: i64(4n) }, 'in'), /HTTP\/REST binary extension/);
  refused(() => checkOutputParameters({ classification: bool(true) }, 'out'), /'classification' must be int64_param/);
  refused(() => checkOutputParameters({ classification: i64(3n) }, 'out'), /'classification' output parameter is not implemented/, Code.UNIMPLEMENTED);
  refused(() => checkOutputParameters({ binary_data: i64(1n) }, 'out'), /'binary_data' must be bool_param/);
  refused(() => checkOutputParameters({ triton_x: bool(true) }, 'out'), /reserved/);
  checkOutputParameters({ binary_data: bool(true) }, 'out');
});

test('the one allowed triton_ key is allowed on the request only, not on inputs or outputs', () => {
  refused(
    () => checkInputParameters({ triton_enable_empty_final_response: bool(true) }, 'in'),
    /keys starting with 'triton_' are reserved \(got 'triton_enable_empty_final_response'\)/,
  );
  refused(() => checkOutputParameters({ triton_enable_empty_final_response: bool(true) }, 'out'), /reserved/);
});

test.run();
