// npm run bench -- replicas: the real CNN (ocr_cls) with 1 vs 2 CPU replicas at a given
// concurrency, dynamic batching on, threads shared out by default (each replica gets
// cores / replicas intra-op threads). One run, so the ratio holds.
//   npm run bench -- replicas [--concurrency 32 --interval 5000]

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, startServerProcess } from '../test/helpers/server-process.js';
import { TempRepo } from '../test/helpers/temp-repo.js';
import { table } from './percentiles.js';
import { measureModels, type StepResult } from './session.js';

const { values: v } = parseArgs({
  args: process.argv.slice(3),
  options: {
    concurrency: { type: 'string', default: '32' },
    interval: { type: 'string', default: '5000' },
  },
});
const levels = v.concurrency!.split(',').map(Number);
const interval = Number(v.interval);
const modelFile = readFileSync(join(repoRoot, 'model-repo', 'ocr_cls', '1', 'model.onnx'));
const config = (count: number) => `max_batch_size: 32
input [ { name: "x" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 3, 48, 192 ] } ]
output [ { name: "softmax_0.tmp_0" data_type: TYPE_FP32 dims: [ 2 ] } ]
instance_group [ { count: ${count}, kind: KIND_CPU } ]
dynamic_batching { }
`;
const repo = new TempRepo()
  .write('cls_1x/1/model.onnx', modelFile)
  .write('cls_1x/config.pbtxt', config(1))
  .write('cls_2x/1/model.onnx', modelFile)
  .write('cls_2x/config.pbtxt', config(2));

const server = await startServerProcess([`--model-repository=${repo.root}`]);
let results: StepResult[];
try {
  results = await measureModels(server.address, ['cls_1x', 'cls_2x'], levels, interval);
} finally {
  await server.stop();
  repo.dispose();
}
console.log(`ocr_cls, dynamic batching, default thread share ((cores - 1) / replicas, at least 1), ${interval} ms per step`);
console.log(
  table(
    ['conc', 'replicas', 'infer/s', 'p50 ms', 'p99 ms', 'rows/exec', 'queue us', 'infer us', 'ratio'],
    results.map((r) => {
      const one = results.find((x) => x.model === 'cls_1x' && x.level === r.level)!;
      return [
        r.level,
        r.model === 'cls_1x' ? 1 : 2,
        r.throughput,
        r.p50Ms,
        r.p99Ms,
        r.avgBatchRows,
        r.queueUs,
        r.computeInferUs,
        r.model === 'cls_2x' ? `x${(r.throughput / one.throughput).toFixed(2)} vs 1` : '',
      ];
    }),
  ),
);
const out = join(repoRoot, 'loadtest', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'bench-replicas.json'), `${JSON.stringify({ interval, results }, null, 2)}\n`);
console.log(`wrote ${join(out, 'bench-replicas.json')}`);
