// npm run bench -- overload: open-loop (Poisson) arrivals at 1x, 1.5x and 2x ocr_cls's
// capacity, against queue policies side by side on one server: the server's default
// (overload shedding at --max-queue-wait), no bound (Triton's default: shedding off with
// max_queue_wait_us 0), a latency target (which is also its wait limit), max_queue_size,
// and a queue-time budget (default_timeout_microseconds with REJECT); --waits adds rows
// with other wait limits. For each: goodput (answered calls/s), p99 of the calls answered, the calls
// refused by status and how long the slowest took to be refused, and the p99 of a 0.5x
// step right after (recovery). Clients give each call a deadline (--deadline-ms): without
// a bound, the excess waits until it. The policies take each rate in turn, and each step
// starts once the server's queues have drained.
//   npm run bench -- overload [--interval 4000] [--deadline-ms 2000] [--queue-size 64] [--budget-us 100000] [--target-us 100000] [--waits 250,1000]
//                             [--connections 8]
//                             [--server-args='--max-inflight-requests=100000']

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, startServerProcess } from '../test/helpers/server-process.js';
import { TempRepo } from '../test/helpers/temp-repo.js';
import { LIMITS } from '../src/limits.js';
import { table } from './percentiles.js';
import { LoadSession, type StepResult } from './session.js';

const { values: v } = parseArgs({
  args: process.argv.slice(3),
  options: {
    interval: { type: 'string', default: '4000' },
    'deadline-ms': { type: 'string', default: '2000' },
    'queue-size': { type: 'string', default: '64' },
    'budget-us': { type: 'string', default: '100000' },
    'target-us': { type: 'string', default: '100000' },
    // Client connections: many clients (or a balancer) open many; one connection's calls past
    // --grpc-max-concurrent-streams wait in the client, where no server policy sees them.
    connections: { type: 'string', default: '8' },
    // Extra rows: overload shedding with these wait limits (ms), set per model.
    waits: { type: 'string', default: '' },
    // More server flags, space-separated (e.g. '--max-inflight-requests=1000').
    'server-args': { type: 'string', default: '' },
  },
});
const interval = Number(v.interval);
const deadlineMs = Number(v['deadline-ms']);

const file = readFileSync(join(repoRoot, 'model-repo', 'ocr_cls', '1', 'model.onnx'));
const head = `max_batch_size: 32
input [ { name: "x" data_type: TYPE_FP32 dims: [ 3, 48, 192 ] } ]
output [ { name: "softmax_0.tmp_0" data_type: TYPE_FP32 dims: [ 2 ] } ]
`;
const waitUs = (ms: number) => `\nparameters { key: "max_queue_wait_us" value { string_value: "${ms * 1000}" } }`;
const serverWait = /--max-queue-wait=(\d+)/.exec(v['server-args']!)?.[1] ?? String(LIMITS.maxQueueWaitMs.default);
const policies = [
  { name: 'cls_default', label: `default (shed at ${serverWait} ms)`, batching: 'dynamic_batching { }' },
  { name: 'cls_unbounded', label: 'no bound', batching: `dynamic_batching { }${waitUs(0)}` },
  ...v
    .waits!.split(',')
    .filter(Boolean)
    .map((ms) => ({ name: `cls_wait_${ms}`, label: `shed at ${ms} ms`, batching: `dynamic_batching { }${waitUs(Number(ms))}` })),
  {
    // Latency-target batching; its target is also its queue wait limit.
    name: 'cls_target',
    label: `latency target ${Number(v['target-us']) / 1000} ms`,
    batching: `dynamic_batching { }\nparameters { key: "latency_target_us" value { string_value: "${v['target-us']}" } }`,
  },
  {
    name: 'cls_queue_size',
    label: `max_queue_size ${v['queue-size']}`,
    batching: `dynamic_batching { default_queue_policy { max_queue_size: ${v['queue-size']} } }${waitUs(0)}`,
  },
  {
    name: 'cls_budget',
    label: `queue budget ${Number(v['budget-us']) / 1000} ms`,
    batching: `dynamic_batching { default_queue_policy { timeout_action: REJECT default_timeout_microseconds: ${v['budget-us']} } }${waitUs(0)}`,
  },
];
const repo = new TempRepo();
for (const p of policies) repo.write(`${p.name}/1/model.onnx`, file).write(`${p.name}/config.pbtxt`, `${head}${p.batching}\n`);

const server = await startServerProcess([`--model-repository=${repo.root}`, '--allow-metrics=false', ...v['server-args']!.split(' ').filter(Boolean)]);
const sessions = new Map<string, LoadSession>();
/** Resolves once no model has run an inference for 300 ms: the queues are empty. */
async function drained(): Promise<void> {
  const count = async () => {
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/v2/models/stats`);
    const body = (await res.json()) as { model_stats: Array<{ inference_count: number; inference_stats: { fail: { count: number } } }> };
    return body.model_stats.reduce((n, m) => n + m.inference_count + m.inference_stats.fail.count, 0);
  };
  let last = await count();
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await count();
    if (now === last) return;
    last = now;
  }
  throw new Error('the queues did not drain in 60 s');
}
type Row = { policy: string; factor: number; step: StepResult; after: StepResult };
const rows: Row[] = [];
let capacity = 0;
let idle: StepResult | undefined;
try {
  for (const p of policies) {
    const s = await new LoadSession(server.address, p.name, '', { timeoutMs: deadlineMs, connections: Number(v.connections) }).init({
      batchSize: 1,
      shapes: {},
      data: 'random',
    });
    await s.warmUp(64);
    sessions.set(p.name, s);
  }
  const first = sessions.get(policies[0]!.name)!;
  // Capacity: what a closed loop deep enough to fill the batches gets through.
  capacity = (await first.measure({ mode: 'concurrency', level: 64 }, interval, 10_000_000)).throughput;
  await drained();
  idle = await first.measure({ mode: 'rate', level: Math.max(1, Math.round(capacity / 10)) }, interval, 10_000_000);
  for (const factor of [1, 1.5, 2]) {
    for (const p of policies) {
      const s = sessions.get(p.name)!;
      await drained();
      const step = await s.measure({ mode: 'rate', level: Math.round(capacity * factor) }, interval, 10_000_000, Math.round(factor * 10));
      // Load drops to half the capacity at once: how soon are answers fast again?
      const after = await s.measure({ mode: 'rate', level: Math.round(capacity / 2) }, interval / 2, 10_000_000, 99);
      rows.push({ policy: p.label, factor, step, after });
    }
  }
} finally {
  for (const s of sessions.values()) await s.close();
  await server.stop();
  repo.dispose();
}
const kinds = (r: StepResult) =>
  Object.entries(r.failureKinds)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '-';
const samples: Record<string, string> = {};
for (const r of rows) for (const [k, m] of Object.entries(r.step.failureSamples)) samples[k] ??= m;
console.log(
  `ocr_cls, open loop (Poisson), capacity ${capacity.toFixed(0)} req/s (closed loop, 64 callers), deadline ${deadlineMs} ms per call, ${interval} ms per step; ` +
    `unloaded (${idle?.level}/s): p50 ${idle?.p50Ms.toFixed(1)} ms, p99 ${idle?.p99Ms.toFixed(1)} ms`,
);
console.log(
  table(
    ['policy', 'load', 'offered/s', 'goodput/s', 'p99 answered ms', 'refused', 'slowest refusal ms', 'then at 0.5x: p99 ms', 'client cpu'],
    rows.map((r) => [
      r.policy,
      `${r.factor}x`,
      r.step.level,
      r.step.throughput.toFixed(0),
      r.step.p99Ms.toFixed(1),
      kinds(r.step),
      Number.isNaN(r.step.failureP99Ms) ? '-' : r.step.failureP99Ms.toFixed(0),
      `${r.after.p99Ms.toFixed(1)}${r.after.errors ? ` (${r.after.errors} failed)` : ''}`,
      `${r.step.clientCores.toFixed(2)}/${r.step.cores}`,
    ]),
  ),
);
for (const [k, m] of Object.entries(samples)) console.log(`${k}: ${m}`);
