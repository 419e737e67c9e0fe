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
  assert.equal(
    splitBytes(x!.data).map((e) => new TextDecoder().decode(e)),
    ['a', 'bb'],
  );
  assert.equal(
    splitBytes(y!.data).map((e) => new TextDecoder().decode(e)),
    ['', 'dddd'],
  );
});

test('a batch of one passes through with the same bytes', () => {
  const a = { datatype: 'FP32' as const, shape: [1, 3], data: new Uint8Array(new Float32Array([1, 2, 3]).buffer) };
  const [only] = splitRows(concatRows([a]), [1]);
  assert.equal([...only!.data], [...a.data]);
});

test('padding adds zero rows up to the bucket, and splitting leaves them out', () => {
  const a = { datatype: 'INT32' as const, shape: [1, 2], data: i32([1, 2]) };
  const b = { datatype: 'INT32' as const, shape: [2, 2], data: i32([3, 4, 5, 6]) };
  const padded = concatRows([a, b], 4);
  assert.equal(padded.shape, [4, 2]);
  assert.equal([...new Int32Array(padded.data.buffer)], [1, 2, 3, 4, 5, 6, 0, 0]);
  const [x, y] = splitRows(padded, [1, 2]);
  assert.equal(x!.shape, [1, 2]);
  assert.equal([...new Int32Array(y!.data.buffer, y!.data.byteOffset, 4)], [3, 4, 5, 6]);
  assert.equal(concatRows([a, b], 2).shape, [3, 2], 'a target below the rows changes nothing');
});

test('padded BYTES rows are empty strings', () => {
  const a = { datatype: 'BYTES' as const, shape: [1, 2], data: joinBytes([enc('a'), enc('bb')]) };
  const padded = concatRows([a], 2);
  assert.equal(padded.shape, [2, 2]);
  assert.equal(
    splitBytes(padded.data).map((e) => new TextDecoder().decode(e)),
    ['a', 'bb', '', ''],
  );
});

test.run();
