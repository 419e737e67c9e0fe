import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { joinBytes, splitBytes } from '../../../src/tensor/codec.js';
import { concatRows, splitRows } from '../../../src/tensor/batch.js';

const i32 = (values: number[]) => new Uint8Array(new Int32Array(values).buffer);
const enc = (s: string) => new TextEncoder().encode(s);

test('concatenates requests along the batch dimension into one owned buffer', () => {
  const a = { datatype: 'INT32' as const, shape: [1, 2], data: i32([1, 2]) };
  const b = { datatype: 'INT32' as const, shape: [2, 2], data: i32([3, 4, 5, 6]) };
  const joined = concatRows([a, b]);
  assert.equal(joined.shape, [3, 2]);
  assert.is(joined.data.byteOffset, 0);
  assert.is(joined.data.buffer.byteLength, 24);
  assert.equal([...new Int32Array(joined.data.buffer)], [1, 2, 3, 4, 5, 6]);
});

test('splits an output back into per-request views without copying', () => {
  const out = { datatype: 'INT32' as const, shape: [3, 2], data: i32([1, 2, 3, 4, 5, 6]) };
  const [x, y] = splitRows(out, [1, 2]);
  assert.equal(x!.shape, [1, 2]);
  assert.equal(y!.shape, [2, 2]);
  assert.is(x!.data.buffer, out.data.buffer, 'a view, not a copy');
  assert.equal([...new Int32Array(y!.data.buffer, y!.data.byteOffset, 4)], [3, 4, 5, 6]);
});

test('BYTES tensors concatenate and split on element boundaries', () => {
  const a = { datatype: 'BYTES' as const, shape: [1, 2], data: joinBytes([enc('a'), enc('bb')]) };
  const b = { datatype: 'BYTES' as const, shape: [1, 2], data: joinBytes([enc(''), enc('dddd')]) };
  const joined = concatRows([a, b]);
  assert.equal(joined.shape, [2, 2]);
  const [x, y] = splitRows(joined, [1, 1]);
  assert.equal(splitBytes(x!.data).map((e) => new TextDecoder().decode(e)), ['a', 'bb']);
  assert.equal(splitBytes(y!.data).map((e) => new TextDecoder().decode(e)), ['', 'dddd']);
});

test('a batch of one passes through with the same bytes', () => {
  const a = { datatype: 'FP32' as const, shape: [1, 3], data: new Uint8Array(new Float32Array([1, 2, 3]).buffer) };
  const [only] = splitRows(concatRows([a]), [1]);
  assert.equal([...only!.data], [...a.data]);
});

test.run();
