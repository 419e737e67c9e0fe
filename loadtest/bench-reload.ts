// npm run bench -- reload: versions swapped under load. A poll-mode server serves `live`;
// a closed loop sends requests while, every --every ms, the next version is written and
// the previous one removed. Counts requests sent and failed, and reloads done. One run.
//   npm run bench -- reload [--swaps 8 --every 1000 --concurrency 8]

import { parseArgs } from 'node:util';
import { ModelInferRequest } from '../src/generated/inference/grpc_service.js';
import { addModel } from '../scripts/onnx-builder.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { TempRepo } from '../test/helpers/temp-repo.js';
import { inferOnce } from './closed-loop.js';
import { credentials } from '@grpc/grpc-js';
import { GRPCInferenceServiceClient } from '../src/generated/inference/grpc_service.js';
import { summarize } from './percentiles.js';

const { values: v } = parseArgs({
  args: process.argv.slice(3),
  options: {
    swaps: { type: 'string', default: '8' },
    every: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '8' },
  },
});
const swaps = Number(v.swaps);
const every = Number(v.every);
const concurrency = Number(v.concurrency);

const CONFIG =
  'max_batch_size: 8\ndynamic_batching { }\ninput [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]\n';
const repo = new TempRepo().write('live/config.pbtxt', CONFIG).write('live/1/model.onnx', addModel(1));
const server = await startServerProcess([`--model-repository=${repo.root}`, '--model-control-mode=poll', '--repository-poll-secs=0.2']);
const client = new GRPCInferenceServiceClient(server.address, credentials.createInsecure());

let sent = 0;
let failed = 0;
let wrong = 0;
const seen = new Set<string>();
const lat: number[] = [];
let running = true;
const firstError: string[] = [];
const workers = Array.from({ length: concurrency }, async () => {
  while (running) {
    const x = sent++;
    const t0 = performance.now();
    try {
      const res = await inferOnce(
        client,
        ModelInferRequest.fromPartial({
          modelName: 'live',
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4] }],
          rawInputContents: [Buffer.from(new Float32Array([x, x, x, x]).buffer)],
        }),
      );
      lat.push(performance.now() - t0);
      seen.add(res.modelVersion);
      const out = new Float32Array(res.rawOutputContents[0]!.buffer.slice(res.rawOutputContents[0]!.byteOffset, res.rawOutputContents[0]!.byteOffset + 16));
      if (out[0] !== x + Number(res.modelVersion)) wrong++;
    } catch (err) {
      failed++;
      if (firstError.length < 3) firstError.push((err as Error).message);
    }
  }
});

const mark = server.lines.length;
for (let k = 2; k <= swaps + 1; k++) {
  await new Promise((r) => setTimeout(r, every));
  repo.write(`live/${k}/model.onnx`, addModel(k)).remove(`live/${k - 1}`);
}
await server.waitForLine(new RegExp(`successfully loaded 'live' version ${swaps + 1}`), 30_000, mark);
await new Promise((r) => setTimeout(r, every));
running = false;
await Promise.all(workers);
const reloads = server.lines.slice(mark).filter((l) => /successfully loaded 'live'/.test(l)).length;
client.close();
await server.stop();
repo.dispose();
const s = summarize(lat);
console.log(
  `reload under load: ${sent} requests sent at concurrency ${concurrency}, ${failed} failed, ${wrong} wrong answers, ` +
    `${reloads} reloads (${swaps} version swaps every ${every} ms, poll 0.2 s), versions answered: ${[...seen].sort((a, b) => Number(a) - Number(b)).join(',')}; ` +
    `p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms, max ${s.maxMs.toFixed(1)} ms`,
);
if (firstError.length) console.log('first errors:', firstError);
