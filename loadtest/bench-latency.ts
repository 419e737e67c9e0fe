// npm run bench -- latency: latency at concurrency 1 through the server vs session.run
// in-process, on the same ONNX files, measured in one run so the ratio holds on a noisy
// machine.   npm run bench -- latency [--requests N --models simple,ocr_cls]

import { credentials } from '@grpc/grpc-js';
import * as ort from 'onnxruntime-node';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GRPCInferenceServiceClient, type ModelInferRequest } from '../src/generated/inference/grpc_service.js';
import { startServerProcess, repoRoot } from '../test/helpers/server-process.js';
import { inferOnce, type Client } from './closed-loop.js';
import { summarize, table, type LatencySummary } from './percentiles.js';

const { values: v } = parseArgs({
  args: process.argv.slice(3),
  options: {
    requests: { type: 'string', default: '2000' },
    models: { type: 'string', default: 'simple,ocr_cls' },
  },
});
const requests = Number(v.requests);

interface Case {
  model: string;
  feeds: () => Record<string, ort.Tensor>;
  request: ModelInferRequest;
  /** Intra-op threads the server's config gives the model (0 = ORT default). */
  intraOp: number;
}

const int32 = (n: number, f: (i: number) => number) => Int32Array.from({ length: n }, (_, i) => f(i));
const fp32 = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5);
const buf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const cases: Record<string, Case> = {
  simple: {
    model: 'simple',
    feeds: () => ({
      INPUT0: new ort.Tensor(
        'int32',
        int32(16, (i) => i),
        [1, 16],
      ),
      INPUT1: new ort.Tensor(
        'int32',
        int32(16, () => 1),
        [1, 16],
      ),
    }),
    request: {
      modelName: 'simple',
      modelVersion: '',
      id: '',
      parameters: {},
      outputs: [],
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n], parameters: {}, contents: undefined },
        { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n], parameters: {}, contents: undefined },
      ],
      rawInputContents: [buf(int32(16, (i) => i)), buf(int32(16, () => 1))],
    },
    intraOp: 0,
  },
  ocr_cls: {
    model: 'ocr_cls',
    feeds: () => ({ x: new ort.Tensor('float32', fp32(3 * 48 * 192), [1, 3, 48, 192]) }),
    request: {
      modelName: 'ocr_cls',
      modelVersion: '',
      id: '',
      parameters: {},
      outputs: [],
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1n, 3n, 48n, 192n], parameters: {}, contents: undefined }],
      rawInputContents: [buf(fp32(3 * 48 * 192))],
    },
    intraOp: 2,
  },
};

async function inProcess(c: Case): Promise<LatencySummary> {
  const opts: ort.InferenceSession.SessionOptions = c.intraOp > 0 ? { intraOpNumThreads: c.intraOp } : {};
  const session = await ort.InferenceSession.create(join(repoRoot, 'model-repo', c.model, '1', 'model.onnx'), opts);
  for (let i = 0; i < 50; i++) await session.run(c.feeds());
  const lat: number[] = [];
  for (let i = 0; i < requests; i++) {
    const feeds = c.feeds();
    const t0 = performance.now();
    await session.run(feeds);
    lat.push(performance.now() - t0);
  }
  await session.release();
  return summarize(lat);
}

async function throughServer(client: Client, c: Case): Promise<LatencySummary> {
  for (let i = 0; i < 50; i++) await inferOnce(client, c.request);
  const lat: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    await inferOnce(client, c.request);
    lat.push(performance.now() - t0);
  }
  return summarize(lat);
}

/** The gRPC floor: a unary call that does no inference. */
async function serverLive(client: Client): Promise<LatencySummary> {
  const live = () => new Promise<void>((res, rej) => client.serverLive({}, (e) => (e ? rej(e) : res())));
  for (let i = 0; i < 50; i++) await live();
  const lat: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    await live();
    lat.push(performance.now() - t0);
  }
  return summarize(lat);
}

const server = await startServerProcess();
const client: Client = new GRPCInferenceServiceClient(server.address, credentials.createInsecure());
const rows: Array<Array<string | number>> = [];
const results: Record<string, { inProcess: LatencySummary; server: LatencySummary }> = {};
try {
  const floor = await serverLive(client);
  rows.push(['-', 'gRPC ServerLive (no inference)', floor.p50Ms, floor.p99Ms, floor.meanMs, '']);
  for (const name of v.models!.split(',')) {
    const c = cases[name];
    if (!c) throw new Error(`no bench case for model '${name}' (have: ${Object.keys(cases).join(', ')})`);
    const a = await inProcess(c);
    const b = await throughServer(client, c);
    results[name] = { inProcess: a, server: b };
    rows.push([name, 'session.run in-process', a.p50Ms, a.p99Ms, a.meanMs, '']);
    rows.push([
      name,
      'gRPC ModelInfer via server',
      b.p50Ms,
      b.p99Ms,
      b.meanMs,
      `p50 x${(b.p50Ms / a.p50Ms).toFixed(2)}, p99 x${(b.p99Ms / a.p99Ms).toFixed(2)}`,
    ]);
  }
} finally {
  client.close();
  await server.stop();
}
console.log(`concurrency 1, ${requests} requests each, batch 1, after 50 warm-up requests`);
console.log(table(['model', 'path', 'p50 ms', 'p99 ms', 'mean ms', 'server / in-process'], rows));
mkdirSync(join(repoRoot, 'loadtest', 'results'), { recursive: true });
const out = join(repoRoot, 'loadtest', 'results', 'bench-latency.json');
writeFileSync(out, `${JSON.stringify({ requests, results }, null, 2)}\n`);
console.log(`wrote ${out}`);
