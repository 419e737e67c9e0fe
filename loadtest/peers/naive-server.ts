// The naive peer: what a Node user writes today. A grpc-js ModelInfer handler that turns
// the request into ort tensors and awaits session.run for each request on the main
// thread's session, no batching, no worker threads.
//   node --import tsx loadtest/peers/naive-server.ts <model-repo dir> <model>
// Prints "listening <port>" on stdout.

import * as ort from 'onnxruntime-node';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fromRequest, servePeer, toResponse } from './peer-io.js';

const [repo, model] = process.argv.slice(2) as [string, string];
const session = await ort.InferenceSession.create(join(repo, model, '1', 'model.onnx'), { intraOpNumThreads: availableParallelism() });

servePeer('naive peer', async (req) => ({ ...toResponse(model, await session.run(fromRequest(req))), id: req.id }));
