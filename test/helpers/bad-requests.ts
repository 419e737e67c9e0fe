// Bad inference requests described once and sent over both frontends: as a gRPC
// ModelInferRequest (raw_input_contents) and as an HTTP/REST request (the JSON header
// with binary_data_size and the bytes after it). Each says the status it must get on
// each transport and the names its message must mention; the exact wording is not the
// point (the error catalogue in src/errors.ts owns it).

import { status } from '@grpc/grpc-js';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { int32Buffer } from './client.js';

export interface BadTensor {
  name: string;
  datatype: string;
  shape: number[];
  raw: Buffer;
}

export interface BadRequest {
  title: string;
  model: string;
  version?: string;
  inputs: BadTensor[];
  outputs?: string[];
  grpcCode: status;
  httpStatus: number;
  /** What the message must name (the model, the input, the numbers at fault). */
  names: string[];
}

const ones = (n: number): Buffer => int32Buffer(Array.from({ length: n }, () => 1));
const simpleInputs = (): BadTensor[] => [
  { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], raw: ones(16) },
  { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], raw: ones(16) },
];
const simple = (patch: (inputs: BadTensor[]) => BadTensor[]): BadTensor[] => patch(simpleInputs());

export const BAD_REQUESTS: BadRequest[] = [
  { title: 'an unknown model', model: 'nope', inputs: simpleInputs(), grpcCode: status.NOT_FOUND, httpStatus: 404, names: ['nope'] },
  {
    title: 'an unknown version',
    model: 'simple',
    version: '7',
    inputs: simpleInputs(),
    grpcCode: status.NOT_FOUND,
    httpStatus: 404,
    names: ['simple', 'version 7'],
  },
  {
    title: 'a version that is not an integer',
    model: 'simple',
    version: 'latest',
    inputs: simpleInputs(),
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['latest'],
  },
  {
    title: 'a missing input',
    model: 'simple',
    inputs: simple((i) => i.slice(0, 1)),
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['simple', 'INPUT1'],
  },
  {
    title: 'an input the model does not have',
    model: 'simple',
    inputs: simple((i) => [...i, { ...i[0]!, name: 'EXTRA' }]),
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['EXTRA', 'INPUT0', 'INPUT1'],
  },
  {
    title: 'an input given twice',
    model: 'simple',
    inputs: simple((i) => [...i, i[0]!]),
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['INPUT0'],
  },
  {
    title: 'the wrong datatype',
    model: 'simple',
    inputs: simple(([a, b]) => [a!, { ...b!, datatype: 'INT64', raw: Buffer.alloc(128) }]),
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['INPUT1', 'INT64', 'INT32'],
  },
  {
    title: 'the wrong shape',
    model: 'simple',
    inputs: simple(([a, b]) => [{ ...a!, shape: [1, 8], raw: ones(8) }, b!]),
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['INPUT0', '[1,8]', '[-1,16]'],
  },
  {
    title: 'the wrong rank',
    model: 'simple',
    inputs: simple(([a, b]) => [{ ...a!, shape: [16] }, b!]),
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['INPUT0', '[16]'],
  },
  {
    title: 'a batch larger than max_batch_size',
    model: 'simple',
    inputs: simple((i) => i.map((t) => ({ ...t, shape: [9, 16], raw: ones(144) }))),
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['batch size 9', '1..8'],
  },
  {
    title: 'inputs of different batch sizes',
    model: 'simple',
    inputs: simple(([a, b]) => [a!, { ...b!, shape: [2, 16], raw: ones(32) }]),
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['INPUT1', 'batch size 2', 'batch size 1'],
  },
  {
    title: 'raw data one byte short',
    model: 'simple',
    inputs: simple(([a, b]) => [{ ...a!, raw: Buffer.alloc(63) }, b!]),
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['INPUT0', '63 bytes', 'needs 64'],
  },
  {
    title: 'a BYTES element whose length prefix runs past the data',
    model: 'identity_bytes',
    inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 2], raw: Buffer.from([2, 0, 0, 0, 104, 105, 255, 255, 0, 0, 120]) }],
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['INPUT0', '65535'],
  },
  {
    title: 'an output the model does not have',
    model: 'simple',
    inputs: simpleInputs(),
    outputs: ['NOPE'],
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['NOPE', 'OUTPUT0'],
  },
  {
    title: 'an output asked for twice',
    model: 'simple',
    inputs: simpleInputs(),
    outputs: ['OUTPUT0', 'OUTPUT0'],
    grpcCode: status.INVALID_ARGUMENT,
    httpStatus: 400,
    names: ['OUTPUT0'],
  },
];

export function asGrpc(r: BadRequest): ModelInferRequest {
  return ModelInferRequest.fromPartial({
    modelName: r.model,
    modelVersion: r.version ?? '',
    inputs: r.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
    outputs: (r.outputs ?? []).map((name) => ({ name })),
    rawInputContents: r.inputs.map((t) => t.raw),
  });
}

/** The path, body and headers of the same request over HTTP/REST with binary tensor data. */
export function asHttp(r: BadRequest): { path: string; body: Buffer; headers: Record<string, string> } {
  const header = Buffer.from(
    JSON.stringify({
      inputs: r.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: t.raw.length } })),
      ...(r.outputs ? { outputs: r.outputs.map((name) => ({ name })) } : {}),
    }),
  );
  return {
    path: `/v2/models/${r.model}${r.version ? `/versions/${r.version}` : ''}/infer`,
    body: Buffer.concat([header, ...r.inputs.map((t) => t.raw)]),
    headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' },
  };
}

/** Why a message fails the case, or undefined when it names everything it must. */
export function missingNames(r: BadRequest, message: string): string | undefined {
  const missing = r.names.filter((n) => !message.includes(n));
  return missing.length > 0 ? `${r.title}: the message does not name ${missing.join(', ')}: ${message}` : undefined;
}
