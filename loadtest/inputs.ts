// Request data for a model, built from its ModelMetadata: every -1 dimension is filled
// from --shape or with 1, and the batch dimension with the batch size.

import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ModelInferRequest, ModelMetadataResponse } from '../src/generated/inference/grpc_service.js';
import { ModelInferRequest as InferRequest } from '../src/generated/inference/grpc_service.js';

const elementBytes: Record<string, number> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
};

/** 'random', 'zero', or values per input name (flat, row-major) read from a JSON file. */
export type InputData = 'random' | 'zero' | Record<string, Array<number | string | boolean>>;

export interface InputOptions {
  batchSize: number;
  /** Per input name, the shape without the batch dimension, e.g. {x: [3, 48, 192]}. */
  shapes: Record<string, number[]>;
  data: InputData;
}

export function buildRequest(meta: ModelMetadataResponse, batched: boolean, opts: InputOptions): ModelInferRequest {
  const inputs = meta.inputs.map((t) => {
    const given = opts.shapes[t.name];
    let shape: number[];
    if (batched) {
      const rest = given ?? t.shape.slice(1).map((d) => (d < 0n ? 1 : Number(d)));
      shape = [opts.batchSize, ...rest];
    } else {
      shape = given ?? t.shape.map((d) => (d < 0n ? 1 : Number(d)));
    }
    return { name: t.name, datatype: t.datatype, shape };
  });
  const raw = inputs.map((t) => {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (typeof opts.data === 'object') return fromValues(t.name, t.datatype, count, opts.data[t.name]);
    if (t.datatype === 'BYTES') {
      const parts: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const s = Buffer.from(opts.data === 'zero' ? '' : `item-${i}`);
        const n = Buffer.alloc(4);
        n.writeUInt32LE(s.length);
        parts.push(n, s);
      }
      return Buffer.concat(parts);
    }
    const bytes = count * (elementBytes[t.datatype] ?? 4);
    const buf = Buffer.alloc(bytes);
    if (opts.data === 'random') {
      if (t.datatype === 'FP32') {
        const f = new Float32Array(buf.buffer, buf.byteOffset, count);
        for (let i = 0; i < count; i++) f[i] = Math.random() * 2 - 1;
      } else if (t.datatype === 'FP64') {
        const f = new Float64Array(buf.buffer, buf.byteOffset, count);
        for (let i = 0; i < count; i++) f[i] = Math.random() * 2 - 1;
      } else if (t.datatype === 'BOOL') {
        for (let i = 0; i < count; i++) buf[i] = Math.random() < 0.5 ? 1 : 0;
      } else if (t.datatype !== 'FP16') {
        randomFillSync(buf);
      }
    }
    return buf;
  });
  return InferRequest.fromPartial({ modelName: meta.name, inputs: inputs.map((t) => ({ ...t, shape: t.shape.map(BigInt) })), rawInputContents: raw });
}

/** Parses "x:3,48,192;y:4" into {x: [3,48,192], y: [4]}. */
export function parseShapes(spec: string | undefined): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  if (!spec) return out;
  for (const part of spec.split(';')) {
    const [name, dims] = part.split(':');
    if (!name || dims === undefined) throw new Error(`--shape must look like NAME:D1,D2[;NAME:...], got '${spec}'`);
    out[name] = dims.split(',').map((d) => {
      const n = Number(d);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--shape: '${d}' is not a dimension`);
      return n;
    });
  }
  return out;
}

export function parseInputData(spec: string): InputData {
  if (spec === 'random' || spec === 'zero') return spec;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(spec, 'utf8'));
  } catch (err) {
    throw new Error(`--input-data: cannot read '${spec}' as JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`--input-data: ${spec} must hold an object of input name -> flat array`);
  return parsed as Record<string, Array<number | string | boolean>>;
}

const writers: Record<string, (b: Buffer, i: number, v: number) => void> = {
  BOOL: (b, i, v) => b.writeUInt8(v ? 1 : 0, i),
  UINT8: (b, i, v) => b.writeUInt8(v, i),
  UINT16: (b, i, v) => b.writeUInt16LE(v, i * 2),
  UINT32: (b, i, v) => b.writeUInt32LE(v, i * 4),
  UINT64: (b, i, v) => b.writeBigUInt64LE(BigInt(v), i * 8),
  INT8: (b, i, v) => b.writeInt8(v, i),
  INT16: (b, i, v) => b.writeInt16LE(v, i * 2),
  INT32: (b, i, v) => b.writeInt32LE(v, i * 4),
  INT64: (b, i, v) => b.writeBigInt64LE(BigInt(v), i * 8),
  FP32: (b, i, v) => b.writeFloatLE(v, i * 4),
  FP64: (b, i, v) => b.writeDoubleLE(v, i * 8),
};

function fromValues(name: string, datatype: string, count: number, values: Array<number | string | boolean> | undefined): Buffer {
  if (!values) throw new Error(`--input-data has no values for input '${name}'`);
  if (values.length !== count) throw new Error(`--input-data: input '${name}' needs ${count} values for its shape, the file has ${values.length}`);
  if (datatype === 'BYTES') {
    return Buffer.concat(
      values.flatMap((s) => {
        const b = Buffer.from(String(s));
        const n = Buffer.alloc(4);
        n.writeUInt32LE(b.length);
        return [n, b];
      }),
    );
  }
  const write = writers[datatype];
  if (!write) throw new Error(`--input-data: datatype ${datatype} of '${name}' cannot be read from JSON`);
  const buf = Buffer.alloc(count * (elementBytes[datatype] ?? 4));
  values.forEach((v, i) => write(buf, i, Number(v)));
  return buf;
}
