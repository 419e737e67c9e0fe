// JSON tensor data to bytes and back, at the edges of each datatype.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonArray, jsonToRaw, rawToJson } from '../../../src/frontend/http/json-tensors.js';
import { datatypeByName } from '../../../src/tensor/datatype.js';

const dt = (name: string) => datatypeByName(name)!;

test('FP64 and FP32 numbers JSON.parse reads as Infinity, or FP32 cannot hold, are refused', () => {
  const [huge] = JSON.parse('[1e400]') as number[];
  assert.is(huge, Infinity, 'the premise: JSON.parse gives Infinity');
  assert.throws(() => jsonToRaw([huge], dt('FP64'), 1, 'input X'), /element 0 is beyond the range of FP64/);
  assert.throws(() => jsonToRaw([1, -1e39], dt('FP32'), 2, 'input X'), /element 1 is beyond the range of FP32/);
  const max = jsonToRaw([3.4028235e38], dt('FP32'), 1, 'input X');
  assert.is(Buffer.from(max).readFloatLE(0), 3.4028234663852886e38, 'the written form of FP32 max rounds to it');
  assert.is(Buffer.from(jsonToRaw([1e300], dt('FP64'), 1, 'input X')).readDoubleLE(0), 1e300);
});

test('64-bit integers beyond 2^53 come back exact, as digits in the JSON text', () => {
  const raw = Buffer.alloc(16);
  raw.writeBigInt64LE(-(2n ** 63n), 0);
  raw.writeBigInt64LE(2n ** 53n + 1n, 8);
  const data = rawToJson(raw, dt('INT64'))!;
  assert.is(jsonArray(data), '[-9223372036854775808,9007199254740993]');
  const small = Buffer.alloc(8);
  small.writeBigInt64LE(42n, 0);
  assert.is(jsonArray(rawToJson(small, dt('INT64'))!), '[42]');
  assert.is(rawToJson(Buffer.alloc(6), dt('FP16')), undefined, 'FP16 has no JSON form');
});

test.run();
