// npm run bench -- batching: what dynamic batching buys on the real CNN (PaddleOCR's
// classifier from model-repo/). One server, two configs of the same model file (dynamic
// batching on and off), closed-loop load at several concurrencies, and in-process
// session.run at the same batch sizes as the ceiling. One run, so the ratios hold.
//   npm run bench -- batching [--concurrency 1,8,32 --interval 5000]

import * as ort from 'onnxruntime-node';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { repoRoot, startServerProcess } from '../test/helpers/server-process.js';
import { TempRepo } from '../test/helpers/temp-repo.js';
import { summarize, table } from './percentiles.js';
import { throughputLatencySvg } from './plot.js';
import { measureModels, type StepResult } from './session.js';

const { values: v } = parseArgs({
  args: process.argv.slice(3),
  options: {
    concurrency: { type: 'string', default: '1,8,32' },
    interval: { type: 'string', default: '5000' },
    'queue-delay-us': { type: 'string', default: '0' },
    /** intra_op_thread_count for the server's replica and the in-process ceiling (default: the server's default, cores - 1). */
    'intra-op': { type: 'string', default: String(Math.max(1, availableParallelism() - 1)) },
  },
});
const levels = v.concurrency!.split(',').map(Number);
const interval = Number(v.interval);
const modelFile = join(repoRoot, 'model-repo', 'ocr_cls', '1', 'model.onnx');
const threads = Number(v['intra-op']);
const baseConfig = `${readFileSync(join(repoRoot, 'model-repo', 'ocr_cls', 'config.pbtxt'), 'utf8')
  .replace(/name: "ocr_cls"/, '')
  .replace(/parameters \{ key: "intra_op_thread_count"[^\n]*\n/, '')}parameters { key: "intra_op_thread_count" value: { string_value: "${threads}" } }\n`;

const repo = new TempRepo()
  .write('cls_batched/1/model.onnx', readFileSync(modelFile))
  .write(
    'cls_batched/config.pbtxt',
    `${baseConfig.replace(/dynamic_batching \{[^}]*\}/, '')}dynamic_batching { max_queue_delay_microseconds: ${Number(v['queue-delay-us'])} }\n`,
  )
  .write('cls_unbatched/1/model.onnx', readFileSync(modelFile))
  .write('cls_unbatched/config.pbtxt', baseConfig.replace(/dynamic_batching \{[^}]*\}/, ''));

// The ceiling: session.run in this process at each batch size, same thread count as the server.
async function inProcess(batch: number, runs: number): Promise<{ rowsPerSec: number; p50Ms: number; p99Ms: number }> {
  const session = await ort.InferenceSession.create(modelFile, threads > 0 ? { intraOpNumThreads: threads } : {});
  const data = Float32Array.from({ length: batch * 3 * 48 * 192 }, (_, i) => Math.sin(i) * 0.5);
  const feeds = { x: new ort.Tensor('float32', data, [batch, 3, 48, 192]) };
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const lat: number[] = [];
  const start = performance.now();
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    lat.push(performance.now() - t0);
  }
  const elapsed = performance.now() - start;
  await session.release();
  const s = summarize(lat);
  return { rowsPerSec: (batch * runs) / (elapsed / 1000), p50Ms: s.p50Ms, p99Ms: s.p99Ms };
}

const ceiling: Record<number, { rowsPerSec: number; p50Ms: number; p99Ms: number }> = {};
for (const b of levels) ceiling[b] = await inProcess(b, Math.max(20, Math.round(2000 / b)));

const server = await startServerProcess([`--model-repository=${repo.root}`]);
let results: StepResult[];
try {
  results = await measureModels(server.address, ['cls_unbatched', 'cls_batched'], levels, interval);
} finally {
  await server.stop();
  repo.dispose();
}

const rows = levels.flatMap((c) => {
  const off = results.find((r) => r.model === 'cls_unbatched' && r.level === c)!;
  const on = results.find((r) => r.model === 'cls_batched' && r.level === c)!;
  const ceil = ceiling[c]!;
  return [
    [c, 'batching off', off.throughput, off.p50Ms, off.p99Ms, off.avgBatchRows, off.queueUs, off.computeInputUs, off.computeInferUs, off.computeOutputUs, ''],
    [
      c,
      'batching on',
      on.throughput,
      on.p50Ms,
      on.p99Ms,
      on.avgBatchRows,
      on.queueUs,
      on.computeInputUs,
      on.computeInferUs,
      on.computeOutputUs,
      `x${(on.throughput / off.throughput).toFixed(2)} vs off`,
    ],
    [
      c,
      `in-process batch ${c}`,
      ceil.rowsPerSec,
      ceil.p50Ms,
      ceil.p99Ms,
      c,
      '',
      '',
      '',
      '',
      `on = ${((on.throughput / ceil.rowsPerSec) * 100).toFixed(0)}% of this`,
    ],
  ];
});
console.log(
  `ocr_cls (PaddleOCR cls, [3,48,192] FP32), 1 CPU replica, intra_op_thread_count ${threads || 'default'}, ${interval} ms per step, batch-1 requests`,
);
console.log(table(['conc', 'path', 'infer/s', 'p50 ms', 'p99 ms', 'rows/exec', 'queue us', 'input us', 'infer us', 'output us', 'ratio'], rows));

const outDir = join(repoRoot, 'loadtest', 'results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'bench-batching.json'), `${JSON.stringify({ interval, levels, ceiling, results }, null, 2)}\n`);
writeFileSync(
  join(outDir, 'bench-batching.svg'),
  throughputLatencySvg('ocr_cls: dynamic batching on vs off (1 CPU replica)', 'p99 latency (ms)', [
    {
      name: 'batching off',
      points: results.filter((r) => r.model === 'cls_unbatched').map((r) => ({ throughput: r.throughput, latencyMs: r.p99Ms, label: `c${r.level}` })),
    },
    {
      name: 'batching on',
      points: results.filter((r) => r.model === 'cls_batched').map((r) => ({ throughput: r.throughput, latencyMs: r.p99Ms, label: `c${r.level}` })),
    },
    { name: 'in-process', points: levels.map((b) => ({ throughput: ceiling[b]!.rowsPerSec, latencyMs: ceiling[b]!.p99Ms, label: `b${b}` })) },
  ]),
);
console.log(`wrote ${join(outDir, 'bench-batching.json')} and bench-batching.svg`);
