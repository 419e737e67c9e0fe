// npm run loadtest -- --model NAME [--concurrency-range 1:8:x2] [...]
// A perf_analyzer-like closed-loop load generator for any server that speaks the KServe
// v2 gRPC protocol (this one, or Triton). Loopback only unless --allow-remote is given.

import { credentials } from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  GRPCInferenceServiceClient,
  type ModelConfigResponse,
  type ModelMetadataResponse,
  type ModelStatistics,
  type ModelStatisticsResponse,
} from '../src/generated/inference/grpc_service.js';
import { closedLoop, type Client } from './closed-loop.js';
import { buildRequest, parseShapes, type InputData } from './inputs.js';
import { summarize, table } from './percentiles.js';

const help = `Usage: npm run loadtest -- --model NAME [flags]
  --url HOST:PORT              server (default 127.0.0.1:8001; loopback only unless --allow-remote)
  --model NAME                 model to load (required)
  --model-version N            version (default: the server's choice)
  --concurrency-range S:E[:T]  closed-loop concurrency from S to E, step T (T=xN multiplies); default 1:1
  --measurement-interval MS    time per step (default 5000)
  --max-requests N             cap per step (default 1000000)
  --batch-size N               rows per request for batching models (default 1)
  --shape NAME:D1,D2[;...]     shape (without batch dimension) for inputs with -1 dims
  --input-data random|zero     request contents (default random)
  --output FILE                write results as .json or .csv
  --allow-remote               allow a non-loopback --url`;

const { values: v } = parseArgs({
  options: {
    url: { type: 'string', default: '127.0.0.1:8001' },
    model: { type: 'string' },
    'model-version': { type: 'string', default: '' },
    'concurrency-range': { type: 'string', default: '1:1' },
    'measurement-interval': { type: 'string', default: '5000' },
    'max-requests': { type: 'string', default: '1000000' },
    'batch-size': { type: 'string', default: '1' },
    shape: { type: 'string' },
    'input-data': { type: 'string', default: 'random' },
    output: { type: 'string' },
    'allow-remote': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

function fail(msg: string): never {
  process.stderr.write(`error: ${msg}\n\n${help}\n`);
  process.exit(2);
}

if (v.help) {
  console.log(help);
  process.exit(0);
}
if (!v.model) fail('--model is required');
const host = v.url!.replace(/:\d+$/, '');
if (!v['allow-remote'] && !['127.0.0.1', 'localhost', '[::1]'].includes(host) && !host.startsWith('127.')) {
  fail(`--url ${v.url} is not a loopback address; pass --allow-remote to load a remote server`);
}
const intFlag = (name: string, value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got '${value}'`);
  return n;
};

export function concurrencySteps(spec: string): number[] {
  const m = /^(\d+)(?::(\d+)(?::(x?)(\d+))?)?$/.exec(spec);
  if (!m) throw new Error(`--concurrency-range must be START[:END[:STEP]] or START:END:xFACTOR, got '${spec}'`);
  const start = Number(m[1]);
  const end = m[2] ? Number(m[2]) : start;
  const multiply = m[3] === 'x';
  const step = m[4] ? Number(m[4]) : 1;
  if (start < 1 || end < start || step < 1 || (multiply && step < 2)) throw new Error(`--concurrency-range '${spec}' is empty or does not advance`);
  const out: number[] = [];
  for (let c = start; c <= end; c = multiply ? c * step : c + step) out.push(c);
  return out;
}

const steps = (() => {
  try {
    return concurrencySteps(v['concurrency-range']!);
  } catch (err) {
    return fail((err as Error).message);
  }
})();
const interval = intFlag('measurement-interval', v['measurement-interval']!);
const maxRequests = intFlag('max-requests', v['max-requests']!);
const batchSize = intFlag('batch-size', v['batch-size']!);
const data = v['input-data'] as InputData;
if (data !== 'random' && data !== 'zero') fail(`--input-data must be random or zero, got '${data}'`);

const client: Client = new GRPCInferenceServiceClient(v.url!, credentials.createInsecure(), {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
});
const cb = <T>(resolve: (r: T) => void, reject: (e: Error) => void) => (e: Error | null, r: T) => (e ? reject(e) : resolve(r));
const metadata = (name: string, version: string) =>
  new Promise<ModelMetadataResponse>((res, rej) => client.modelMetadata({ name, version }, cb(res, rej)));
const modelConfig = (name: string, version: string) =>
  new Promise<ModelConfigResponse>((res, rej) => client.modelConfig({ name, version }, cb(res, rej)));
const statistics = (name: string, version: string) =>
  new Promise<ModelStatisticsResponse>((res, rej) => client.modelStatistics({ name, version }, cb(res, rej)));

const meta = await metadata(v.model, v['model-version']!);
const { config } = await modelConfig(v.model, v['model-version']!);
const batched = (config?.maxBatchSize ?? 0) > 0;
const request = buildRequest(meta, batched, { batchSize, shapes: parseShapes(v.shape), data });
request.modelVersion = v['model-version']!;

async function stats(): Promise<ModelStatistics | undefined> {
  const r = await statistics(v.model!, v['model-version']!);
  return r.modelStats.sort((a, b) => Number(b.version) - Number(a.version))[0];
}

console.log(`model ${meta.name} (versions ${meta.versions.join(',')}), batch ${batched ? batchSize : 'n/a'}, ` +
  `inputs ${request.inputs.map((i) => `${i.name}${JSON.stringify(i.shape)}`).join(' ')}, ${interval} ms per step`);

// Warm-up: one request per concurrency slot so first-run costs stay out of the figures.
await closedLoop(client, () => request, steps[steps.length - 1]!, 0, steps[steps.length - 1]!);

interface Row {
  concurrency: number;
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  queueUs: number;
  computeUs: number;
  execPerReq: number;
}
const rows: Row[] = [];
for (const c of steps) {
  const before = await stats();
  const r = await closedLoop(client, () => request, c, interval, maxRequests);
  const after = await stats();
  const s = summarize(r.latenciesMs);
  const d = (f: (x: ModelStatistics) => number) => (after && before ? f(after) - f(before) : NaN);
  const n = d((x) => x.inferenceStats?.success?.count ?? 0);
  rows.push({
    concurrency: c,
    throughput: (r.latenciesMs.length * (batched ? batchSize : 1)) / (r.elapsedMs / 1000),
    p50: s.p50Ms,
    p90: s.p90Ms,
    p99: s.p99Ms,
    errors: r.errors,
    queueUs: d((x) => x.inferenceStats?.queue?.ns ?? 0) / n / 1000,
    computeUs: d((x) => (x.inferenceStats?.computeInput?.ns ?? 0) + (x.inferenceStats?.computeInfer?.ns ?? 0) + (x.inferenceStats?.computeOutput?.ns ?? 0)) / n / 1000,
    execPerReq: d((x) => x.executionCount) / n,
  });
  if (r.errors > 0) console.error(`concurrency ${c}: ${r.errors} errors, first: ${r.firstError}`);
}

console.log(
  table(
    ['concurrency', 'infer/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'queue us', 'compute us', 'exec/req'],
    rows.map((r) => [r.concurrency, r.throughput, r.p50, r.p90, r.p99, r.errors, r.queueUs, r.computeUs, r.execPerReq]),
  ),
);
if (v.output) {
  if (v.output.endsWith('.csv')) {
    const keys = Object.keys(rows[0] ?? {}) as Array<keyof Row>;
    writeFileSync(v.output, [keys.join(','), ...rows.map((r) => keys.map((k) => r[k]).join(','))].join('\n') + '\n');
  } else {
    writeFileSync(v.output, JSON.stringify({ model: meta.name, batchSize, intervalMs: interval, rows }, null, 2) + '\n');
  }
  console.log(`wrote ${v.output}`);
}
client.close();
