// npm run loadtest -- --model NAME [--concurrency-range 1:32:x2 | --request-rate-range 100:800:100] [...]
// A perf_analyzer-like load generator for any server that speaks the KServe v2 gRPC
// protocol (this one, or Triton). Closed loop (concurrency) or open loop (Poisson
// arrivals at a rate). Bounded in time and count; loopback only unless --allow-remote.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseInputData, parseShapes } from './inputs.js';
import { table } from './percentiles.js';
import { throughputLatencySvg } from './plot.js';
import { connection } from './connection.js';
import { LoadSession, rangeSteps, type Step, type StepResult } from './session.js';

const help = `Usage: npm run loadtest -- --model NAME [flags]
  --url HOST:PORT                server (default 127.0.0.1:8001; loopback only unless --allow-remote)
  --model NAME                   model to load (required)
  --model-version N              version (default: the server's choice)
  --concurrency-range S:E[:T]    closed loop: concurrency S..E, step T (xN multiplies); default 1:1
  --request-rate-range S:E[:T]   open loop instead: Poisson arrivals at S..E requests/s
  --measurement-interval MS      time per step (default 5000)
  --max-requests N               cap per step (default 1000000)
  --batch-size N                 rows per request for batching models (default 1)
  --shape NAME:D1,D2[;...]       shape (without batch dimension) for inputs with -1 dims
  --input-data random|zero|FILE  request contents; FILE is JSON {"INPUT": [flat values], ...} (default random)
  --output FILE                  results as .json or .csv
  --plot FILE.svg                throughput vs p99 latency chart
  --allow-remote                 allow a non-loopback --url
  --ssl-grpc-root-certifications-file FILE
                                 TLS, trusting this CA bundle
  --ssl-grpc-certificate-chain-file FILE, --ssl-grpc-private-key-file FILE
                                 client certificate and key (mutual TLS)
  -H, --header 'NAME: VALUE'     header on every call, e.g. 'authorization: Bearer <key>' (repeat it)`;

const { values: v } = parseArgs({
  options: {
    url: { type: 'string', default: '127.0.0.1:8001' },
    model: { type: 'string' },
    'model-version': { type: 'string', default: '' },
    'concurrency-range': { type: 'string' },
    'request-rate-range': { type: 'string' },
    'measurement-interval': { type: 'string', default: '5000' },
    'max-requests': { type: 'string', default: '1000000' },
    'batch-size': { type: 'string', default: '1' },
    shape: { type: 'string' },
    'input-data': { type: 'string', default: 'random' },
    output: { type: 'string' },
    plot: { type: 'string' },
    'allow-remote': { type: 'boolean', default: false },
    'ssl-grpc-root-certifications-file': { type: 'string' },
    'ssl-grpc-certificate-chain-file': { type: 'string' },
    'ssl-grpc-private-key-file': { type: 'string' },
    header: { type: 'string', short: 'H', multiple: true },
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
if (!v['allow-remote'] && !['localhost', '[::1]'].includes(host) && !/^127\.\d+\.\d+\.\d+$/.test(host)) {
  fail(`--url ${v.url} is not a loopback address; pass --allow-remote to load a remote server`);
}
const positive = (name: string, value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got '${value}'`);
  return n;
};
if (v['concurrency-range'] && v['request-rate-range']) fail('give --concurrency-range or --request-rate-range, not both');

let steps: Step[];
try {
  steps = v['request-rate-range']
    ? rangeSteps(v['request-rate-range'], '--request-rate-range').map((level) => ({ mode: 'rate' as const, level }))
    : rangeSteps(v['concurrency-range'] ?? '1', '--concurrency-range').map((level) => ({ mode: 'concurrency' as const, level: Math.round(level) }));
} catch (err) {
  fail((err as Error).message);
}
const interval = positive('measurement-interval', v['measurement-interval']!);
const maxRequests = positive('max-requests', v['max-requests']!);
const batchSize = positive('batch-size', v['batch-size']!);
let inputs;
try {
  inputs = { batchSize, shapes: parseShapes(v.shape), data: parseInputData(v['input-data']!) };
} catch (err) {
  fail((err as Error).message);
}

let conn;
try {
  conn = connection({
    caFile: v['ssl-grpc-root-certifications-file'],
    certFile: v['ssl-grpc-certificate-chain-file'],
    keyFile: v['ssl-grpc-private-key-file'],
    headers: v.header,
  });
} catch (err) {
  fail((err as Error).message);
}
// The load generator's caller needs metadata, model-config, statistics and inference on the model.
const session = await new LoadSession(v.url!, v.model, v['model-version']!, conn)
  .init(inputs)
  .catch((err: Error) => fail(`cannot set up the load on '${v.model}': ${err.message}`));
const req = session.request;
console.log(
  `model ${session.meta.name} (versions ${session.meta.versions.join(',')}), ${session.batched ? `batch ${batchSize}` : 'no batch dimension'}, ` +
    `inputs ${req.inputs.map((i) => `${i.name}[${i.shape.join(',')}]`).join(' ')}, ${interval} ms per step`,
);
await session.warmUp(steps[0]!.mode === 'concurrency' ? steps[steps.length - 1]!.level : 4);

const results: StepResult[] = [];
for (const step of steps) {
  const r = await session.measure(step, interval, maxRequests);
  results.push(r);
  if (r.errors > 0) console.error(`${step.mode} ${step.level}: ${r.errors} errors, first: ${r.firstError}`);
}
session.close();

console.log(
  table(
    [
      steps[0]!.mode === 'rate' ? 'rate/s' : 'concurrency',
      'infer/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'errors',
      'queue us',
      'input us',
      'infer us',
      'output us',
      'rows/exec',
    ],
    results.map((r) => [
      r.level,
      r.throughput,
      r.p50Ms,
      r.p90Ms,
      r.p99Ms,
      r.errors + r.dropped,
      r.queueUs,
      r.computeInputUs,
      r.computeInferUs,
      r.computeOutputUs,
      r.avgBatchRows,
    ]),
  ),
);
if (v.output) {
  if (v.output.endsWith('.csv')) {
    const keys = Object.keys(results[0]!) as Array<keyof StepResult>;
    writeFileSync(v.output, `${[keys.join(','), ...results.map((r) => keys.map((k) => JSON.stringify(r[k])).join(','))].join('\n')}\n`);
  } else {
    writeFileSync(v.output, `${JSON.stringify({ model: session.meta.name, batchSize, intervalMs: interval, results }, null, 2)}\n`);
  }
  console.log(`wrote ${v.output}`);
}
if (v.plot) {
  const label = (r: StepResult) => (r.mode === 'rate' ? `${r.level}/s` : `c${r.level}`);
  writeFileSync(
    v.plot,
    throughputLatencySvg(`${session.meta.name}: throughput vs p99 latency`, 'p99 latency (ms)', [
      { name: session.meta.name, points: results.map((r) => ({ throughput: r.throughput, latencyMs: r.p99Ms, label: label(r) })) },
    ]),
  );
  console.log(`wrote ${v.plot}`);
}
