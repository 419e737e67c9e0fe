// The transport ceiling: a bare @grpc/grpc-js server that answers ModelInfer for one model
// with a response computed once at start (same shape and size as the real one). It does
// what any gRPC server must do (decode the request, encode a response) and nothing else.
//   node --import tsx loadtest/peers/transport-server.ts <model-repo dir> <model> <batch rows>
// Prints "listening <port>" on stdout.

import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { peerFeeds, servePeer, toResponse } from './peer-io.js';

const [repo, model] = process.argv.slice(2) as [string, string];
const session = await ort.InferenceSession.create(join(repo, model, '1', 'model.onnx'), { intraOpNumThreads: 1 });
const { feeds } = peerFeeds(model);
const canned = toResponse(model, await session.run(feeds));
await session.release();

servePeer('transport peer', (req) => Promise.resolve({ ...canned, id: req.id }));
