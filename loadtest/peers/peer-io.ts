// Request/response conversion for the benchmark peers (FP32 and INT32 models only).

import * as grpc from '@grpc/grpc-js';
import * as ort from 'onnxruntime-node';
import { GRPCInferenceServiceService, type ModelInferRequest, type ModelInferResponse } from '../../src/generated/inference/grpc_service.js';

const copy = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

export function fromRequest(req: ModelInferRequest): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  req.inputs.forEach((t, i) => {
    const raw = req.rawInputContents[i]!;
    feeds[t.name] =
      t.datatype === 'INT32'
        ? new ort.Tensor('int32', new Int32Array(copy(raw)), t.shape.map(Number))
        : new ort.Tensor('float32', new Float32Array(copy(raw)), t.shape.map(Number));
  });
  return feeds;
}

export function toResponse(model: string, out: ort.InferenceSession.ReturnType): ModelInferResponse {
  const names = Object.keys(out);
  return {
    modelName: model,
    modelVersion: '1',
    id: '',
    parameters: {},
    outputs: names.map((n) => ({
      name: n,
      datatype: out[n]!.type === 'int32' ? 'INT32' : 'FP32',
      shape: out[n]!.dims.map(BigInt),
      parameters: {},
      contents: undefined,
    })),
    rawOutputContents: names.map((n) => {
      const d = out[n]!.data as Float32Array;
      return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    }),
  };
}

/** A batch-1 request's tensors for the bundled models the benchmark uses. */
export function peerFeeds(model: string): { feeds: Record<string, ort.Tensor> } {
  if (model === 'simple') {
    return {
      feeds: { INPUT0: new ort.Tensor('int32', new Int32Array(16).fill(1), [1, 16]), INPUT1: new ort.Tensor('int32', new Int32Array(16).fill(2), [1, 16]) },
    };
  }
  return { feeds: { x: new ort.Tensor('float32', new Float32Array(3 * 48 * 192).fill(0.1), [1, 3, 48, 192]) } };
}

/**
 * Serves GRPCInferenceService on 127.0.0.1 with only ModelInfer implemented (the rest are
 * UNIMPLEMENTED), prints "listening <port>", and stops cleanly on SIGTERM.
 */
export function servePeer(name: string, modelInfer: (req: ModelInferRequest) => Promise<ModelInferResponse>): void {
  const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: grpc.status.UNIMPLEMENTED, details: name });
  const handlers: Record<string, unknown> = {};
  for (const rpc of Object.keys(GRPCInferenceServiceService)) handlers[rpc] = unimplemented;
  handlers['modelInfer'] = (call: grpc.ServerUnaryCall<ModelInferRequest, ModelInferResponse>, cb: grpc.sendUnaryData<ModelInferResponse>) => {
    modelInfer(call.request).then(
      (res) => cb(null, res),
      (err: Error) => cb({ code: grpc.status.INTERNAL, details: err.message }),
    );
  };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
  server.addService(GRPCInferenceServiceService, handlers as grpc.UntypedServiceImplementation);
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    console.log(`listening ${port}`);
  });
  process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
}
