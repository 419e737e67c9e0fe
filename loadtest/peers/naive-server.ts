// The naive peer: what a Node user writes today. A grpc-js ModelInfer handler that turns
// the request into ort tensors and awaits session.run for each request on the main
// thread's session, no batching, no worker threads.
//   node --import tsx loadtest/peers/naive-server.ts <model-repo dir> <model>
// Prints "listening <port>" on stdout.

import * as grpc from '@grpc/grpc-js';
import * as ort from 'onnxruntime-node';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { GRPCInferenceServiceService, type ModelInferRequest, type ModelInferResponse } from '../../src/generated/inference/grpc_service.js';
import { fromRequest, toResponse } from './peer-io.js';

const [repo, model] = process.argv.slice(2) as [string, string];
const session = await ort.InferenceSession.create(join(repo, model, '1', 'model.onnx'), { intraOpNumThreads: availableParallelism() });

const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'naive peer' });
const handlers: Record<string, unknown> = {};
for (const name of Object.keys(GRPCInferenceServiceService)) handlers[name] = unimplemented;
handlers['modelInfer'] = (call: grpc.ServerUnaryCall<ModelInferRequest, ModelInferResponse>, cb: grpc.sendUnaryData<ModelInferResponse>) => {
  session.run(fromRequest(call.request)).then(
    (out) => cb(null, { ...toResponse(model, out), id: call.request.id }),
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
