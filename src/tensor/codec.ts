// Conversions between the wire forms of tensor data (raw little-endian bytes, typed
// contents, length-prefixed BYTES) and the one form used inside the server: a fresh,
// aligned Uint8Array of raw bytes that owns its whole ArrayBuffer, so it can be
// transferred to a worker thread.

import { invalid } from '../errors.js';
import type { ContentsField, DatatypeInfo } from './datatype.js';

/** Typed contents as they arrive from protobuf; only the field named by the datatype is read. */
export type TypedContents = Partial<Record<ContentsField, ReadonlyArray<number | bigint | boolean | Uint8Array>>>;

/** Copy into a buffer that owns its memory and starts at offset 0 (aligned for any view). */
export function ownedCopy(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.byteLength);
  out.set(src);
  return out;
}

/**
 * Checks that BYTES raw data holds exactly `count` length-prefixed elements.
 * `what` names the tensor in messages, e.g. "input 'TEXT' of model 'echo'".
 */
export function checkBytesRaw(raw: Uint8Array, count: number, what: string): void {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let offset = 0;
  let seen = 0;
  while (offset < raw.byteLength) {
    if (offset + 4 > raw.byteLength) {
      throw invalid(`${what}: BYTES element ${seen} has a truncated 4-byte length prefix at byte ${offset}`);
    }
    const len = view.getUint32(offset, true);
    if (offset + 4 + len > raw.byteLength) {
      throw invalid(`${what}: BYTES element ${seen} declares ${len} bytes at byte ${offset} but only ` + `${raw.byteLength - offset - 4} remain in the buffer`);
    }
    offset += 4 + len;
    seen++;
  }
  if (seen !== count) {
    throw invalid(`${what}: expected ${count} BYTES elements for its shape, got ${seen}`);
  }
}

/** Splits length-prefixed BYTES data into element views (no copies). Assumes checkBytesRaw passed. */
export function splitBytes(raw: Uint8Array): Uint8Array[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset + 4 <= raw.byteLength) {
    const len = view.getUint32(offset, true);
    out.push(raw.subarray(offset + 4, offset + 4 + len));
    offset += 4 + len;
  }
  return out;
}

/** Joins elements into length-prefixed BYTES data. */
export function joinBytes(elements: ReadonlyArray<Uint8Array>): Uint8Array {
  let total = 0;
  for (const e of elements) total += 4 + e.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const e of elements) {
    view.setUint32(offset, e.byteLength, true);
    out.set(e, offset + 4);
    offset += 4 + e.byteLength;
  }
  return out;
}

/**
 * Encodes the typed contents of one tensor as raw bytes. Exactly one field may be set,
 * the one that carries `info`; its length must be `count`.
 */
export function typedToRaw(info: DatatypeInfo, contents: TypedContents, count: number, what: string): Uint8Array {
  const present = (Object.keys(contents) as ContentsField[]).filter((k) => (contents[k]?.length ?? 0) > 0);
  const field = info.contentsField;
  if (field === null) {
    throw invalid(`${what}: ${info.name} has no typed contents field; send it in raw_input_contents`);
  }
  const wrong = present.filter((k) => k !== field);
  if (wrong.length > 0) {
    throw invalid(`${what}: datatype ${info.name} travels in contents.${snake(field)}, but the request set contents.${snake(wrong[0]!)}`);
  }
  const values = contents[field] ?? [];
  if (values.length !== count) {
    throw invalid(`${what}: expected ${count} elements in contents.${snake(field)} for its shape, got ${values.length}`);
  }
  if (info.name === 'BYTES') return joinBytes(values as Uint8Array[]);
  const out = new Uint8Array(count * info.byteSize);
  const buf = out.buffer;
  switch (info.name) {
    case 'BOOL': {
      for (let i = 0; i < count; i++) out[i] = values[i] ? 1 : 0;
      break;
    }
    case 'UINT8':
      new Uint8Array(buf).set(values as number[]);
      break;
    case 'UINT16':
      new Uint16Array(buf).set(values as number[]);
      break;
    case 'UINT32':
      new Uint32Array(buf).set(values as number[]);
      break;
    case 'INT8':
      new Int8Array(buf).set(values as number[]);
      break;
    case 'INT16':
      new Int16Array(buf).set(values as number[]);
      break;
    case 'INT32':
      new Int32Array(buf).set(values as number[]);
      break;
    case 'FP32':
      new Float32Array(buf).set(values as number[]);
      break;
    case 'FP64':
      new Float64Array(buf).set(values as number[]);
      break;
    case 'INT64': {
      const v = new BigInt64Array(buf);
      for (let i = 0; i < count; i++) v[i] = BigInt(values[i] as number | bigint);
      break;
    }
    case 'UINT64': {
      const v = new BigUint64Array(buf);
      for (let i = 0; i < count; i++) v[i] = BigInt(values[i] as number | bigint);
      break;
    }
    default:
      throw invalid(`${what}: datatype ${info.name} cannot be sent as typed contents`);
  }
  return out;
}

const protoNames: Record<ContentsField, string> = {
  boolContents: 'bool_contents',
  intContents: 'int_contents',
  int64Contents: 'int64_contents',
  uintContents: 'uint_contents',
  uint64Contents: 'uint64_contents',
  fp32Contents: 'fp32_contents',
  fp64Contents: 'fp64_contents',
  bytesContents: 'bytes_contents',
};

function snake(field: ContentsField): string {
  return protoNames[field];
}
