// The transport ceiling: a bare @grpc/grpc-js server that answers ModelInfer for one model
// with a response computed once at start (same shape and size as the real one). It does
// what any gRPC server must do (decode the request, encode a response) and nothing else.
//   node --import tsx loadtest/peers/transport-server.ts <model-repo dir> <model> <batch rows>
// Prints "listening <port>" on stdout.

import * as grpc from '@grpc/grpc-js';
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { GRPCInferenceServiceService, type ModelInferRequest, type ModelInferResponse } from '../../src/generated/inference/grpc_service.js';
import { peerFeeds, toResponse } from './peer-io.js';

const [repo, model] = process.argv.slice(2) as [string, string];
const session = await ort.InferenceSession.create(join(repo, model, '1', 'model.onnx'), { intraOpNumThreads: 1 });
const { feeds } = peerFeeds(model);
const canned = toResponse(model, await session.run(feeds));
await session.release();

const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<never>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'transport peer' });
const handlers: Record<string, unknown> = {};
for (const name of Object.keys(GRPCInferenceServiceService)) handlers[name] = unimplemented;
handlers['modelInfer'] = (call: grpc.ServerUnaryCall<ModelInferRequest, ModelInferResponse>, cb: grpc.sendUnaryData<ModelInferResponse>) => {
  cb(null, { ...canned, id: call.request.id });
};
const server = new grpc.Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
server.addService(GRPCInferenceServiceService, handlers as grpc.UntypedServiceImplementation);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log(`listening ${port}`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
