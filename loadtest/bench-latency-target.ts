// npm run bench -- latency-target: for one p99 target, the highest open-loop (Poisson)
// request rate ocr_cls sustains with latency-target batching vs the best of several fixed
// max_queue_delay_microseconds values. Same server, same run; at each rate every policy
// still in the race takes its step in turn, so drift of this shared machine falls on all
// of them alike. A policy leaves the race after two missed rates in a row.
//   npm run bench -- latency-target [--target-us 100000 --rates 100:1000:50 --interval 4000
//                                    --delays-us 0,2000,5000,10000,30000]

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, startServerProcess } from '../test/helpers/server-process.js';
import { TempRepo } from '../test/helpers/temp-repo.js';
import { table } from './percentiles.js';
import { throughputLatencySvg } from './plot.js';
import { LoadSession, rangeSteps, type StepResult } from './session.js';

const { values: v } = parseArgs({
  args: process.argv.slice(3),
  options: {
    'target-us': { type: 'string', default: '100000' },
    rates: { type: 'string', default: '100:1000:50' },
    interval: { type: 'string', default: '4000' },
    'delays-us': { type: 'string', default: '0,2000,5000,10000,30000' },
  },
});
const targetUs = Number(v['target-us']);
const targetMs = targetUs / 1000;
const rates = rangeSteps(v.rates!, '--rates');
const interval = Number(v.interval);
const fixedDelaysUs = v['delays-us']!.split(',').map(Number);
if (fixedDelaysUs.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`--delays-us must list whole microseconds, got '${v['delays-us']}'`);

const file = readFileSync(join(repoRoot, 'model-repo', 'ocr_cls', '1', 'model.onnx'));
const head = `max_batch_size: 32
input [ { name: "x" data_type: TYPE_FP32 dims: [ 3, 48, 192 ] } ]
output [ { name: "softmax_0.tmp_0" data_type: TYPE_FP32 dims: [ 2 ] } ]
parameters { key: "intra_op_thread_count" value: { string_value: "2" } }
`;
const variants: Array<{ name: string; label: string; config: string }> = [
  ...fixedDelaysUs.map((d) => ({
    name: `cls_delay_${d}`,
    label: `fixed delay ${d} us`,
    config: `${head}dynamic_batching { max_queue_delay_microseconds: ${d} }\n`,
  })),
  {
    name: 'cls_target',
    label: `latency target ${targetUs} us`,
    config: `${head}dynamic_batching { }\nparameters { key: "latency_target_us" value: { string_value: "${targetUs}" } }\n`,
  },
];
const repo = new TempRepo();
for (const x of variants) repo.write(`${x.name}/1/model.onnx`, file).write(`${x.name}/config.pbtxt`, x.config);

const passed = (r: StepResult): boolean => r.p99Ms <= targetMs && r.errors === 0 && r.dropped === 0;
const server = await startServerProcess([`--model-repository=${repo.root}`, '--allow-metrics=false']);
const results = new Map<string, StepResult[]>(variants.map((x) => [x.name, []]));
try {
  const sessions = new Map<string, LoadSession>();
  for (const x of variants) {
    const s = await new LoadSession(server.address, x.name).init({ batchSize: 1, shapes: {}, data: 'random' });
    await s.warmUp(32);
    sessions.set(x.name, s);
  }
  const misses = new Map<string, number>(variants.map((x) => [x.name, 0]));
  for (const rate of rates) {
    const racing = variants.filter((x) => misses.get(x.name)! < 2);
    if (racing.length === 0) break;
    for (const x of racing) {
      const r = await sessions.get(x.name)!.measure({ mode: 'rate', level: rate }, interval, 1_000_000, rate);
      results.get(x.name)!.push(r);
      misses.set(x.name, passed(r) ? 0 : misses.get(x.name)! + 1);
    }
  }
  for (const s of sessions.values()) s.close();
} finally {
  await server.stop();
  repo.dispose();
}

/** The highest rate that met the target before the policy left the race. */
const sustained = (steps: StepResult[]): number => Math.max(0, ...steps.filter(passed).map((r) => r.level));
const lowest = rates[0]!;
const atLowest = (name: string) => results.get(name)!.find((r) => r.level === lowest);
const rows = variants.map((x) => {
  const steps = results.get(x.name)!;
  const low = atLowest(x.name);
  return [x.label, sustained(steps), low ? low.p50Ms : NaN, steps.map((r) => `${r.level}:${r.p99Ms.toFixed(0)}`).join(' ')];
});
const fixed = variants.filter((x) => x.name !== 'cls_target');
const bestFixed = fixed.reduce((best, x) => (sustained(results.get(x.name)!) > sustained(results.get(best.name)!) ? x : best));
const bestFixedRate = sustained(results.get(bestFixed.name)!);
const target = sustained(results.get('cls_target')!);
console.log(`ocr_cls, 1 CPU replica (2 intra-op threads), open loop (Poisson), p99 target ${targetMs} ms, ${interval} ms per rate, policies interleaved`);
console.log(table(['policy', 'sustained req/s', `p50 ms at ${lowest}/s`, 'rate:p99 ms ...'], rows));
console.log(
  `latency target sustains ${target} req/s vs best fixed delay (${bestFixed.label}) ${bestFixedRate} req/s: ` +
    `x${(target / Math.max(1, bestFixedRate)).toFixed(2)} (goal >= 1.3); p50 at ${lowest}/s: ` +
    `${atLowest('cls_target')?.p50Ms.toFixed(1)} ms vs ${atLowest(bestFixed.name)?.p50Ms.toFixed(1)} ms`,
);
{
  // Across the rates every policy ran: each policy's p50 and p99 against the best policy at
  // that rate (geometric mean; 1.00 = the best at every rate). A fixed delay is tuned for one
  // load; this shows what each costs at the others.
  const common = rates.filter((rate) => variants.every((x) => results.get(x.name)!.some((r) => r.level === rate)));
  const at = (name: string, rate: number) => results.get(name)!.find((r) => r.level === rate)!;
  const regret = (name: string, f: (r: StepResult) => number) =>
    Math.exp(common.reduce((sum, rate) => sum + Math.log(f(at(name, rate)) / Math.min(...variants.map((x) => f(at(x.name, rate))))), 0) / common.length);
  if (common.length > 0) {
    console.log(
      `p50 and p99 vs the best policy at each rate, geometric mean over ${common[0]}-${common.at(-1)} req/s: ` +
        variants.map((x) => `${x.label} ${regret(x.name, (r) => r.p50Ms).toFixed(2)}/${regret(x.name, (r) => r.p99Ms).toFixed(2)}`).join(', '),
    );
  }
}
const out = join(repoRoot, 'loadtest', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'bench-latency-target.json'),
  `${JSON.stringify({ date: new Date().toISOString(), targetUs, interval, fixedDelaysUs, results: Object.fromEntries(results) }, null, 2)}\n`,
);
writeFileSync(
  join(out, 'bench-latency-target.svg'),
  throughputLatencySvg(
    `ocr_cls open loop: p99 vs throughput (target ${targetMs} ms)`,
    'p99 latency (ms)',
    variants.map((x) => ({ name: x.label, points: results.get(x.name)!.map((r) => ({ throughput: r.throughput, latencyMs: r.p99Ms, label: `${r.level}` })) })),
  ),
);
