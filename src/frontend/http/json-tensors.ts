// Tensor data in KServe v2 JSON, both ways: a JSON `data` array (flat or nested, checked
// element by element) to the little-endian bytes the core takes, and output bytes back to
// a flat JSON array. BOOL travels as true/false, BYTES as strings (UTF-8), FP16 only as
// binary data, as Triton has it. Every failure is INVALID_ARGUMENT naming the input.

import { invalid } from '../../errors.js';
import { joinBytes, splitBytes } from '../../tensor/codec.js';
import type { DatatypeInfo } from '../../tensor/datatype.js';

/** Nested arrays deeper than this are refused (a shape has at most this many dimensions). */
const MAX_DEPTH = 64;

const INT_RANGE: Record<string, [number, number]> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-(2 ** 31), 2 ** 31 - 1],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 2 ** 32 - 1],
};

/** Flattens `data` (nested arrays of scalars) into `out`, stopping as soon as it holds more than `max`. */
function flatten(data: unknown, out: unknown[], max: number, what: string, depth = 0): void {
  if (!Array.isArray(data)) {
    out.push(data);
    if (out.length > max) throw invalid(`${what}: 'data' holds more elements than its shape (${max})`);
    return;
  }
  if (depth >= MAX_DEPTH) throw invalid(`${what}: 'data' nests arrays deeper than ${MAX_DEPTH}`);
  for (const x of data) flatten(x, out, max, what, depth + 1);
}

/** The bytes of a JSON `data` value for datatype `d`, with `count` elements expected. */
export function jsonToRaw(data: unknown, d: DatatypeInfo, count: number, what: string): Uint8Array {
  if (d.name === 'FP16') throw invalid(`${what}: FP16 data cannot be sent as JSON; send it as binary data (binary_data_size)`);
  if (!Array.isArray(data)) throw invalid(`${what}: 'data' must be an array`);
  const flat: unknown[] = [];
  flatten(data, flat, count, what);
  if (flat.length !== count) throw invalid(`${what}: 'data' holds ${flat.length} elements, but its shape has ${count}`);
  if (d.name === 'BYTES') {
    return joinBytes(
      flat.map((v, i) => {
        if (typeof v !== 'string') throw invalid(`${what}: element ${i} must be a string for BYTES, got ${kind(v)}`);
        return Buffer.from(v, 'utf8');
      }),
    );
  }
  const buf = Buffer.alloc(count * d.byteSize);
  for (let i = 0; i < count; i++) writeElement(buf, i, flat[i], d, what);
  return buf;
}

function writeElement(buf: Buffer, i: number, v: unknown, d: DatatypeInfo, what: string): void {
  const bad = (want: string): never => {
    throw invalid(`${what}: element ${i} must be ${want} for ${d.name}, got ${kind(v)}`);
  };
  switch (d.name) {
    case 'BOOL':
      if (typeof v !== 'boolean') bad('true or false');
      buf[i] = v ? 1 : 0;
      return;
    case 'FP32':
    case 'FP64':
      if (typeof v !== 'number') bad('a number');
      // JSON.parse reads 1e400 as Infinity; a value FP32 cannot hold would become Infinity too.
      if (!Number.isFinite(v) || (d.name === 'FP32' && !Number.isFinite(Math.fround(v as number)))) {
        throw invalid(`${what}: element ${i} is beyond the range of ${d.name}`);
      }
      if (d.name === 'FP32') buf.writeFloatLE(v as number, i * 4);
      else buf.writeDoubleLE(v as number, i * 8);
      return;
    case 'INT64':
    case 'UINT64': {
      if (typeof v !== 'number' || !Number.isInteger(v)) bad('an integer');
      const n = v as number;
      if (!Number.isSafeInteger(n))
        throw invalid(`${what}: element ${i} (${n}) is beyond ±2^53, where JSON numbers lose digits; send ${d.name} as binary data`);
      if (d.name === 'UINT64') {
        if (n < 0) throw invalid(`${what}: element ${i} (${n}) is out of range for UINT64`);
        buf.writeBigUInt64LE(BigInt(n), i * 8);
      } else {
        buf.writeBigInt64LE(BigInt(n), i * 8);
      }
      return;
    }
    default: {
      if (typeof v !== 'number' || !Number.isInteger(v)) bad('an integer');
      const [lo, hi] = INT_RANGE[d.name]!;
      const n = v as number;
      if (n < lo || n > hi) throw invalid(`${what}: element ${i} (${n}) is out of range for ${d.name} (${lo}..${hi})`);
      const at = i * d.byteSize;
      if (d.name === 'INT8') buf.writeInt8(n, at);
      else if (d.name === 'INT16') buf.writeInt16LE(n, at);
      else if (d.name === 'INT32') buf.writeInt32LE(n, at);
      else if (d.name === 'UINT8') buf.writeUInt8(n, at);
      else if (d.name === 'UINT16') buf.writeUInt16LE(n, at);
      else buf.writeUInt32LE(n, at);
    }
  }
}

/**
 * Output bytes as a flat array for JSON. INT64/UINT64 values beyond ±2^53 come back as
 * bigint, for jsonArray() to write as exact digits; FP16 has no JSON form (undefined).
 */
export function rawToJson(raw: Uint8Array, d: DatatypeInfo): unknown[] | undefined {
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (d.name === 'BYTES') return splitBytes(raw).map((e) => Buffer.from(e).toString('utf8'));
  if (d.name === 'FP16') return undefined;
  const n = d.byteSize > 0 ? Math.floor(b.length / d.byteSize) : 0;
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    switch (d.name) {
      case 'BOOL':
        out[i] = b[i] !== 0;
        break;
      case 'INT8':
        out[i] = b.readInt8(i);
        break;
      case 'INT16':
        out[i] = b.readInt16LE(i * 2);
        break;
      case 'INT32':
        out[i] = b.readInt32LE(i * 4);
        break;
      case 'UINT8':
        out[i] = b[i];
        break;
      case 'UINT16':
        out[i] = b.readUInt16LE(i * 2);
        break;
      case 'UINT32':
        out[i] = b.readUInt32LE(i * 4);
        break;
      case 'FP32':
        out[i] = jsonNumber(b.readFloatLE(i * 4));
        break;
      case 'FP64':
        out[i] = jsonNumber(b.readDoubleLE(i * 8));
        break;
      case 'INT64':
      case 'UINT64': {
        const big = d.name === 'INT64' ? b.readBigInt64LE(i * 8) : b.readBigUInt64LE(i * 8);
        out[i] = big > MAX_SAFE || big < MIN_SAFE ? big : Number(big);
        break;
      }
    }
  }
  return out;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** A rawToJson() array as JSON text: bigint elements as their exact digits (JSON numbers have no size limit). */
export function jsonArray(data: readonly unknown[]): string {
  if (!data.some((x) => typeof x === 'bigint')) return JSON.stringify(data);
  return `[${data.map((x) => (typeof x === 'bigint' ? x.toString() : JSON.stringify(x))).join(',')}]`;
}

/** NaN and ±Infinity have no JSON form; JSON.stringify would write null, so say so instead. */
function jsonNumber(x: number): number | string {
  return Number.isFinite(x) ? x : String(x);
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `a string` : typeof v;
}
