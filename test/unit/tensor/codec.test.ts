import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, ServeError } from '../../../src/errors.js';
import { checkBytesRaw, joinBytes, ownedCopy, splitBytes, typedToRaw } from '../../../src/tensor/codec.js';
import { allDatatypes, configTypeName, datatypeByConfigEnum, datatypeByName, datatypeByOrtType } from '../../../src/tensor/datatype.js';
import { elementCount, fullDims, shapeMatches } from '../../../src/tensor/shape.js';

const enc = (s: string) => new TextEncoder().encode(s);

function invalidMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ServeError);
    assert.is((err as ServeError).code, Code.INVALID_ARGUMENT);
    return (err as Error).message;
  }
  assert.unreachable('expected INVALID_ARGUMENT');
  return '';
}

test('the datatype table maps wire names, config enums and ONNX Runtime types both ways', () => {
  assert.is(allDatatypes.length, 13);
  for (const d of allDatatypes) {
    assert.is(datatypeByName(d.name), d);
    assert.is(datatypeByConfigEnum(d.configEnum), d);
    assert.is(datatypeByOrtType(d.ortType), d);
  }
  assert.is(configTypeName(datatypeByName('BYTES')!), 'TYPE_STRING');
  assert.is(datatypeByConfigEnum(14), undefined, 'BF16 is not served');
  assert.is(datatypeByName('FP8'), undefined);
});

test('BYTES elements round-trip through length-prefixed form', () => {
  const parts = [enc('hello'), enc(''), enc('wörld')];
  const raw = joinBytes(parts);
  assert.is(raw.byteLength, 4 + 5 + 4 + 0 + 4 + 6);
  checkBytesRaw(raw, 3, 'x');
  assert.equal(
    splitBytes(raw).map((p) => new TextDecoder().decode(p)),
    ['hello', '', 'wörld'],
  );
});

test('a BYTES length prefix that runs past the buffer is rejected with where it happened', () => {
  const raw = joinBytes([enc('abc')]);
  new DataView(raw.buffer).setUint32(0, 50, true);
  assert.match(
    invalidMessage(() => checkBytesRaw(raw, 1, "input 'T'")),
    /input 'T': BYTES element 0 declares 50 bytes at byte 0 but only 3 remain/,
  );
});

test('a truncated BYTES prefix and a wrong element count are rejected', () => {
  const raw = new Uint8Array([3, 0, 0, 0, 97, 98, 99, 1, 0]);
  assert.match(
    invalidMessage(() => checkBytesRaw(raw, 2, 'x')),
    /element 1 has a truncated 4-byte length prefix at byte 7/,
  );
  assert.match(
    invalidMessage(() => checkBytesRaw(joinBytes([enc('a')]), 2, 'x')),
    /expected 2 BYTES elements for its shape, got 1/,
  );
});

test('typed contents encode to little-endian raw bytes for every typed datatype', () => {
  const cases: Array<[string, Record<string, unknown[]>, (b: ArrayBuffer) => unknown[]]> = [
    ['BOOL', { boolContents: [true, false, true] }, (b) => [...new Uint8Array(b)]],
    ['UINT8', { uintContents: [1, 255, 7] }, (b) => [...new Uint8Array(b)]],
    ['UINT16', { uintContents: [1, 65535, 7] }, (b) => [...new Uint16Array(b)]],
    ['UINT32', { uintContents: [1, 4294967295, 7] }, (b) => [...new Uint32Array(b)]],
    ['UINT64', { uint64Contents: [1, 2 ** 40, 7] }, (b) => [...new BigUint64Array(b)].map(Number)],
    ['INT8', { intContents: [-1, 127, -128] }, (b) => [...new Int8Array(b)]],
    ['INT16', { intContents: [-1, 32767, -32768] }, (b) => [...new Int16Array(b)]],
    ['INT32', { intContents: [-1, 2 ** 31 - 1, 5] }, (b) => [...new Int32Array(b)]],
    ['INT64', { int64Contents: [-1, -(2 ** 40), 5] }, (b) => [...new BigInt64Array(b)].map(Number)],
    ['FP32', { fp32Contents: [1.5, -2, 0.25] }, (b) => [...new Float32Array(b)]],
    ['FP64', { fp64Contents: [1.1, -2, 1e300] }, (b) => [...new Float64Array(b)]],
  ];
  for (const [name, contents, read] of cases) {
    const d = datatypeByName(name)!;
    const raw = typedToRaw(d, contents as never, 3, name);
    assert.is(raw.byteLength, 3 * d.byteSize, name);
    const expected = Object.values(contents)[0]!.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
    assert.equal(read(raw.buffer as ArrayBuffer), expected, name);
  }
  const bytes = typedToRaw(datatypeByName('BYTES')!, { bytesContents: [enc('a'), enc('bc')] }, 2, 'b');
  assert.equal([...bytes], [1, 0, 0, 0, 97, 2, 0, 0, 0, 98, 99]);
});

test('typed contents in the wrong field, of the wrong length, or for FP16 are rejected', () => {
  const int32 = datatypeByName('INT32')!;
  assert.match(
    invalidMessage(() => typedToRaw(int32, { fp32Contents: [1] }, 1, "input 'A'")),
    /input 'A': datatype INT32 travels in contents.int_contents, but the request set contents.fp32_contents/,
  );
  assert.match(
    invalidMessage(() => typedToRaw(int32, { intContents: [1, 2] }, 3, 'A')),
    /expected 3 elements in contents.int_contents for its shape, got 2/,
  );
  assert.match(
    invalidMessage(() => typedToRaw(datatypeByName('FP16')!, { fp32Contents: [1] }, 1, 'H')),
    /FP16 has no typed contents field; send it in raw_input_contents/,
  );
});

test('ownedCopy gives a buffer that starts at offset 0 and owns all of it', () => {
  const big = new Uint8Array([9, 9, 1, 2, 3, 9]);
  const c = ownedCopy(big.subarray(2, 5));
  assert.is(c.byteOffset, 0);
  assert.is(c.buffer.byteLength, 3);
  assert.equal([...c], [1, 2, 3]);
});

test('shape helpers count elements and match -1 against any size', () => {
  assert.is(elementCount([]), 1);
  assert.is(elementCount([2, 3, 4]), 24);
  assert.is(elementCount([5, 0]), 0);
  assert.ok(shapeMatches([8, 16], [-1, 16]));
  assert.not.ok(shapeMatches([8, 15], [-1, 16]));
  assert.not.ok(shapeMatches([8], [-1, 16]));
  assert.equal(fullDims([16], 8), [-1, 16]);
  assert.equal(fullDims([16], 0), [16]);
});

test.run();
