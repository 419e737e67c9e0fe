// Seeded hostile ModelInferRequest bytes for the bundled models: byte-level mutations of a
// valid request, requests the generated encoder can say but the server must refuse, and
// crafted wire fields it cannot say (huge varints, lengths past the end, wrong wire types,
// unknown fields, deep groups, millions of nothing). Also a raw-bytes client to send them.

import * as grpc from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';

/** A valid batch-1 request for each bundled model. */
export function validRequests(): Record<string, ModelInferRequest> {
  const i32 = (n: number, v: number) => Buffer.from(new Int32Array(n).fill(v).buffer);
  const f32 = (n: number, v: number) => Buffer.from(new Float32Array(n).fill(v).buffer);
  const bytes = (s: string) => Buffer.concat([Buffer.from(Uint32Array.of(s.length).buffer), Buffer.from(s)]);
  return {
    simple: ModelInferRequest.fromPartial({
      modelName: 'simple',
      id: 'fz',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
        { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
      ],
      rawInputContents: [i32(16, 2), i32(16, 3)],
    }),
    identity_fp32: ModelInferRequest.fromPartial({
      modelName: 'identity_fp32',
      id: 'fz',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, 4n] }],
      rawInputContents: [f32(4, 1.5)],
    }),
    identity_bytes: ModelInferRequest.fromPartial({
      modelName: 'identity_bytes',
      id: 'fz',
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1n, 2n] }],
      rawInputContents: [Buffer.concat([bytes('ab'), bytes('cde')])],
    }),
    add_version: ModelInferRequest.fromPartial({
      modelName: 'add_version',
      modelVersion: '2',
      id: 'fz',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, 4n] }],
      rawInputContents: [f32(4, 1)],
    }),
    ocr_cls: ModelInferRequest.fromPartial({
      modelName: 'ocr_cls',
      id: 'fz',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1n, 3n, 48n, 192n] }],
      rawInputContents: [f32(3 * 48 * 192, 0.25)],
    }),
  };
}

export const encode = (r: ModelInferRequest): Buffer => Buffer.from(ModelInferRequest.encode(r).finish());

type Rnd = () => number;
const int = (rnd: Rnd, n: number) => Math.floor(rnd() * n);
const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[int(rnd, xs.length)]!;

/** One hostile message derived from `base` (a valid request of the model). */
export function hostileRequest(base: ModelInferRequest, rnd: Rnd): Buffer {
  const kind = rnd();
  if (kind < 0.45) return mutateBytes(encode(base), rnd);
  if (kind < 0.75) return encode(structural(base, rnd));
  return crafted(encode(base), rnd);
}

function mutateBytes(buf: Buffer, rnd: Rnd): Buffer {
  let b = Buffer.from(buf);
  // Mutations near the start hit the structure; the rest of a big request is tensor data.
  const pos = () => (rnd() < 0.7 ? int(rnd, Math.min(b.length, 96)) : int(rnd, Math.max(1, b.length)));
  for (let k = 1 + int(rnd, 4); k > 0; k--) {
    const op = int(rnd, 6);
    const p = pos();
    if (op === 0) b[p] = int(rnd, 256);
    else if (op === 1) b = Buffer.concat([b.subarray(0, p), Buffer.from(Array.from({ length: 1 + int(rnd, 8) }, () => int(rnd, 256))), b.subarray(p)]);
    else if (op === 2) b = Buffer.concat([b.subarray(0, p), b.subarray(Math.min(b.length, p + 1 + int(rnd, 16)))]);
    else if (op === 3) b = Buffer.concat([b.subarray(0, p), b.subarray(p, p + 1 + int(rnd, 32)), b.subarray(p)]);
    else if (op === 4) b = b.subarray(0, p);
    else b[p] = 0xff;
  }
  return b;
}

const DATATYPES = ['INT32', 'FP32', 'BYTES', 'INT64', 'FP16', 'BOOL', 'UINT8', 'BF16', '', 'int32', 'FP64', 'UINT64'];
const DIMS = [0n, 1n, 2n, 3n, 4n, 16n, 48n, 192n, -1n, 2n ** 31n, 2n ** 53n + 1n, 9223372036854775807n, -9223372036854775808n];
const PARAMS = ['priority', 'timeout', 'sequence_id', 'sequence_start', 'triton_x', 'binary_data_output', 'custom', '__proto__', 'constructor'];

function param(rnd: Rnd) {
  const c = int(rnd, 5);
  const v =
    c === 0
      ? { $case: 'boolParam' as const, value: rnd() < 0.5 }
      : c === 1
        ? { $case: 'int64Param' as const, value: pick(rnd, [-1n, 0n, 5n, 9223372036854775807n, -9223372036854775808n]) }
        : c === 2
          ? { $case: 'stringParam' as const, value: pick(rnd, ['', 'x', 'high']) }
          : c === 3
            ? { $case: 'doubleParam' as const, value: pick(rnd, [0.5, NaN, -Infinity]) }
            : { $case: 'uint64Param' as const, value: pick(rnd, [0n, 1n, 18446744073709551615n]) };
  return { parameterChoice: v };
}

/** What the generated encoder can say: wrong names, types, shapes, counts, parameters. */
function structural(base: ModelInferRequest, rnd: Rnd): ModelInferRequest {
  const r = ModelInferRequest.fromPartial(structuredClone(base));
  const what = int(rnd, 9);
  if (what === 0) r.modelName = pick(rnd, ['', '.', '..', '../x', 'a/b', 'nope', 'simple\n', 'x'.repeat(300), base.modelName]);
  else if (what === 1) r.modelVersion = pick(rnd, ['', '0', 'x', '-1', '99999999999999999999', '3']);
  else if (what === 2 && r.inputs[0]) r.inputs[0].datatype = pick(rnd, DATATYPES);
  else if (what === 3 && r.inputs[0]) r.inputs[0].shape = Array.from({ length: int(rnd, 5) }, () => pick(rnd, DIMS));
  else if (what === 4) r.rawInputContents = r.rawInputContents.map((b) => b.subarray(0, int(rnd, b.length + 1)));
  else if (what === 5) r.parameters = Object.fromEntries([[pick(rnd, PARAMS), param(rnd)]]);
  else if (what === 6 && r.inputs[0])
    r.inputs[0].contents = {
      boolContents: [],
      intContents: [1, 2],
      int64Contents: [9223372036854775807n],
      uintContents: [],
      uint64Contents: [],
      fp32Contents: rnd() < 0.5 ? [1] : [],
      fp64Contents: [],
      bytesContents: [],
    };
  else if (what === 7) r.outputs = [{ name: pick(rnd, ['OUTPUT0', 'nope', '', 'x']), parameters: rnd() < 0.5 ? { classification: param(rnd) } : {} }];
  else r.inputs = [...r.inputs, ...r.inputs];
  return r;
}

/** Wire fields appended to a valid message: things no encoder would write. */
function crafted(valid: Buffer, rnd: Rnd): Buffer {
  const w = new BinaryWriter();
  const which = int(rnd, 8);
  if (which === 0)
    w.uint32((5 << 3) | 2).bytes(
      new BinaryWriter()
        .uint32((3 << 3) | 0)
        .uint64(18446744073709551615n)
        .finish(),
    );
  else if (which === 1) w.uint32((7 << 3) | 2).uint32(0x7fffffff);
  else if (which === 2) w.uint32((1 << 3) | 0).uint32(7);
  else if (which === 3) for (let i = 0; i < 2000; i++) w.uint32((5 << 3) | 2).uint32(0);
  else if (which === 4) for (let i = 0; i < 300; i++) w.uint32((99 << 3) | 3);
  else if (which === 5)
    w.uint32((4 << 3) | 2).bytes(
      new BinaryWriter()
        .uint32((2 << 3) | 2)
        .bytes(Uint8Array.of(0xff, 0xff))
        .finish(),
    );
  else if (which === 6)
    w.uint32((6 << 3) | 2).bytes(
      new BinaryWriter()
        .uint32((2 << 3) | 2)
        .fork()
        .uint32((1 << 3) | 2)
        .string('__proto__')
        .join()
        .finish(),
    );
  else w.uint32(0);
  const extra = Buffer.from(w.finish());
  return rnd() < 0.8 ? Buffer.concat([valid, extra]) : Buffer.concat([extra, valid]);
}

const identity = (b: Buffer): Buffer => b;

/** A client that sends and receives ModelInfer and ModelStreamInfer as raw bytes. */
export function rawInferClient(address: string): grpc.Client & {
  modelInfer(b: Buffer, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Buffer) => void): void;
  modelStreamInfer(md?: grpc.Metadata, o?: grpc.CallOptions): grpc.ClientDuplexStream<Buffer, Buffer>;
} {
  const method = (name: string, stream: boolean) => ({
    path: `/inference.GRPCInferenceService/${name}`,
    requestStream: stream,
    responseStream: stream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  });
  const Raw = grpc.makeGenericClientConstructor(
    { modelInfer: method('ModelInfer', false), modelStreamInfer: method('ModelStreamInfer', true) },
    'RawInference',
  );
  return new Raw(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 }) as never;
}
