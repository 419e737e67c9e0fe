// npm run loadtest -- -m NAME [--concurrency-range 1:32:x2 | --request-rate-range 100:800:100] [...]
// A perf_analyzer-like load generator for any server that speaks KServe v2 over gRPC or
// HTTP/REST (this one, or Triton), with perf_analyzer's flag names where it has them.
// Closed loop (concurrency) or open loop (Poisson arrivals at a rate), spread over worker
// threads and connections; each step reports the generator's own CPU use. Bounded in time
// and count; loopback only unless --allow-remote.

import { parseArgs } from 'node:util';
import { parseInputData, parseShapes } from './inputs.js';
import { table } from './percentiles.js';
import { LoadSession, rangeSteps, type Step, type StepResult } from './session.js';
import { writeResults } from './results-file.js';
import { defaultWorkers } from './load-generator.js';

const help = `Usage: npm run loadtest -- -m NAME [flags]        (perf_analyzer's names; long aliases in brackets)
  -m NAME [--model]              model to load (required)
  -x N [--model-version]         version (default: the server's choice)
  -i grpc|http [--protocol]      protocol (default grpc)
  -u HOST:PORT [--url]           server (default 127.0.0.1:8001 for gRPC, :8000 for HTTP; loopback only
                                 unless --allow-remote)
  --concurrency-range S:E[:T]    closed loop: concurrency S..E, step T (xN multiplies); default 1:1
  --request-rate-range S:E[:T]   open loop instead: Poisson arrivals at S..E requests/s
  -p MS [--measurement-interval] time per step (default 5000)
  --max-requests N               cap per step (default 1000000)
  -b N [--batch-size]            rows per request for batching models (default 1)
  --shape NAME:D1,D2[;...]       shape (without batch dimension) for inputs with -1 dims (repeat it)
  --input-data random|zero|FILE  request contents; FILE is JSON {"INPUT": [flat values], ...} (default random)
  --percentile N                 the latency percentile reported as pN (default 99)
  --workers N                    load threads (default: 1, or 2 from 4 cores up); each has its own connections
  --connections N                connections over all threads (default: gRPC two per thread, HTTP one per caller)
  --shared-memory none|system    tensors through system shared memory regions in /dev/shm (the server on
                                 this host, started with --allow-client-shm=true); default none
  --output-shared-memory-size N  bytes of shared memory per output (default 102400)
  -f FILE [--output]             results as .csv (perf_analyzer's column names) or .json
  --plot FILE.svg                throughput vs pN latency chart
  --allow-remote                 allow a non-loopback --url
  --ssl-grpc-root-certifications-file FILE
                                 TLS, trusting this CA bundle
  --ssl-grpc-certificate-chain-file FILE, --ssl-grpc-private-key-file FILE
                                 client certificate and key (mutual TLS)
  -H, --header 'NAME: VALUE'     header on every call, e.g. 'authorization: Bearer <key>' (repeat it)`;

function fail(msg: string): never {
  process.stderr.write(`error: ${msg}\n\n${help}\n`);
  process.exit(2);
}

let v;
try {
  ({ values: v } = parseArgs({
    options: {
      model: { type: 'string', short: 'm' },
      'model-version': { type: 'string', short: 'x', default: '' },
      protocol: { type: 'string', short: 'i', default: 'grpc' },
      url: { type: 'string', short: 'u' },
      'concurrency-range': { type: 'string' },
      'request-rate-range': { type: 'string' },
      'measurement-interval': { type: 'string', short: 'p', default: '5000' },
      'max-requests': { type: 'string', default: '1000000' },
      'batch-size': { type: 'string', short: 'b', default: '1' },
      shape: { type: 'string', multiple: true },
      'input-data': { type: 'string', default: 'random' },
      percentile: { type: 'string', default: '99' },
      workers: { type: 'string' },
      connections: { type: 'string' },
      'shared-memory': { type: 'string', default: 'none' },
      'output-shared-memory-size': { type: 'string', default: '102400' },
      output: { type: 'string', short: 'f' },
      plot: { type: 'string' },
      'allow-remote': { type: 'boolean', default: false },
      'ssl-grpc-root-certifications-file': { type: 'string' },
      'ssl-grpc-certificate-chain-file': { type: 'string' },
      'ssl-grpc-private-key-file': { type: 'string' },
      header: { type: 'string', short: 'H', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  fail((err as Error).message);
}

if (v.help) {
  console.log(help);
  process.exit(0);
}
if (!v.model) fail('-m (--model) is required');
const protocol = v.protocol;
if (protocol !== 'grpc' && protocol !== 'http') fail(`-i must be grpc or http, got '${protocol}'`);
const sharedMemory = v['shared-memory'];
if (sharedMemory !== 'none' && sharedMemory !== 'system') fail(`--shared-memory must be none or system, got '${sharedMemory}'`);
if (sharedMemory === 'system' && v['allow-remote']) fail('--shared-memory system needs the server on this host; it cannot go with --allow-remote');
const url = v.url ?? (protocol === 'grpc' ? '127.0.0.1:8001' : '127.0.0.1:8000');
const host = url.replace(/:\d+$/, '');
if (!v['allow-remote'] && !['localhost', '[::1]'].includes(host) && !/^127\.\d+\.\d+\.\d+$/.test(host)) {
  fail(`--url ${url} is not a loopback address; pass --allow-remote to load a remote server`);
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
const pct = Number(v.percentile);
if (!(pct > 0 && pct <= 100)) fail(`--percentile must be in (0, 100], got '${v.percentile}'`);
const workers = v.workers ? positive('workers', v.workers) : defaultWorkers();
const topLevel = Math.max(...steps.map((s) => s.level));
const connections = v.connections
  ? positive('connections', v.connections)
  : protocol === 'grpc'
    ? 2 * workers
    : Math.max(workers, Math.ceil(steps[0]!.mode === 'concurrency' ? topLevel : 64));
let inputs;
try {
  inputs = { batchSize, shapes: parseShapes(v.shape?.join(';')), data: parseInputData(v['input-data']!) };
} catch (err) {
  fail((err as Error).message);
}

const session = await new LoadSession(url, v.model, v['model-version']!, {
  protocol,
  workers,
  connections,
  percentile: pct,
  sharedMemory,
  outputSharedMemorySize: positive('output-shared-memory-size', v['output-shared-memory-size']!),
  conn: {
    caFile: v['ssl-grpc-root-certifications-file'],
    certFile: v['ssl-grpc-certificate-chain-file'],
    keyFile: v['ssl-grpc-private-key-file'],
    headers: v.header,
  },
})
  .init(inputs)
  .catch((err: Error) => fail(`cannot set up the load on '${v.model}': ${err.message}`));
const req = session.request;
console.log(
  `model ${session.meta.name} over ${protocol} (versions ${session.meta.versions.join(',')}), ${session.batched ? `batch ${batchSize}` : 'no batch dimension'}, ` +
    `inputs ${req.inputs.map((i) => `${i.name}[${i.shape.join(',')}]`).join(' ')}${sharedMemory === 'system' ? ' in system shared memory' : ''}, ${interval} ms per step, ${workers} load thread(s), ${connections} connection(s)`,
);
await session.warmUp(steps[0]!.mode === 'concurrency' ? topLevel : 4);

const results: StepResult[] = [];
for (const step of steps) {
  const r = await session.measure(step, interval, maxRequests);
  results.push(r);
  if (r.errors > 0) console.error(`${step.mode} ${step.level}: ${r.errors} errors, first: ${r.firstError}`);
}
await session.close();

console.log(
  table(
    [
      steps[0]!.mode === 'rate' ? 'rate/s' : 'concurrency',
      'infer/s',
      'p50 ms',
      'p90 ms',
      `p${pct} ms`,
      'errors',
      'queue us',
      'input us',
      'infer us',
      'output us',
      'rows/exec',
      'client cpu',
    ],
    results.map((r) => [
      r.level,
      r.throughput,
      r.p50Ms,
      r.p90Ms,
      r.pMs,
      r.errors + r.dropped,
      r.queueUs,
      r.computeInputUs,
      r.computeInferUs,
      r.computeOutputUs,
      r.avgBatchRows,
      `${r.clientCores.toFixed(2)}/${r.cores}`,
    ]),
  ),
);
// A generator using most of its cores was likely the limit, not the server.
const busiest = Math.max(...results.map((r) => r.clientCores / r.cores));
if (busiest > 0.85) console.log(`note: the load generator used ${(busiest * 100).toFixed(0)}% of its cores in a step; add --workers or a machine`);
writeResults({ output: v.output, plot: v.plot, model: session.meta.name, batchSize, intervalMs: interval, percentile: pct, results });
