// npm run bench -- ceiling: this server against the limits of the machine, in one run.
//   1. compute ceiling: in-process session.run on ocr_cls at batch 1..32 (best rows/s = C)
//   2. transport ceiling: a bare grpc-js server answering ModelInfer with a canned response
//      (simple: p50 at concurrency 1; ocr_cls: calls/s at concurrency 64 = E)
//   3. naive peer: grpc-js handler awaiting session.run per request, no batching
//   4. this server (bundled model-repo) at concurrency 1, 8, 32, 64, 128
// Bound for a server here: B = 1 / (1/E + 1/C). Prints ratios, writes JSON and SVG.
//   npm run bench -- ceiling [--interval 4000]

import * as ort from 'onnxruntime-node';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { Piscina } from 'piscina';
import { GRPCInferenceServiceClient, ModelInferRequest, type ModelStatistics, type ModelStatisticsResponse } from '../src/generated/inference/grpc_service.js';
import { repoRoot, startServerProcess } from '../test/helpers/server-process.js';
import type { StepPoint } from './closed-loop.js';
import { measureGrpc } from './load-generator.js';
import { ocrRequest, simpleRequest } from './bundled-requests.js';
import { startPeer, stopPeer } from './peers/spawn.js';
import { summarize, table } from './percentiles.js';
import { throughputLatencySvg } from './plot.js';

const { values: v } = parseArgs({ args: process.argv.slice(3), options: { interval: { type: 'string', default: '4000' } } });
const interval = Number(v.interval);
const levels = [1, 8, 32, 64, 128];
const repo = join(repoRoot, 'model-repo');
const cores = availableParallelism();

const ocr = ocrRequest();
const simple = simpleRequest();

/** Through the load generator (load-generator.ts): worker threads, so the client is not the limit. */
function measure(address: string, req: ModelInferRequest, c: number): Promise<StepPoint> {
  return measureGrpc(address, ModelInferRequest.encode(req).finish(), c, interval);
}

// 1. Compute ceiling.
const compute: Record<number, number> = {};
{
  const session = await ort.InferenceSession.create(join(repo, 'ocr_cls', '1', 'model.onnx'), { intraOpNumThreads: cores });
  for (const b of [1, 2, 4, 8, 16, 32]) {
    const feeds = { x: new ort.Tensor('float32', new Float32Array(b * 3 * 48 * 192).fill(0.1), [b, 3, 48, 192]) };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const runs = Math.max(10, Math.round(600 / b));
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await session.run(feeds);
    compute[b] = (b * runs) / ((performance.now() - t0) / 1000);
  }
  await session.release();
}
const bestBatch = Number(Object.entries(compute).sort((a, b) => b[1] - a[1])[0]![0]);
const C = compute[bestBatch]!;

// 2. Transport ceiling.
let transportSimple: StepPoint;
let transportOcr: StepPoint;
{
  const simplePeer = await startPeer('transport-server.ts', 'simple');
  transportSimple = await measure(simplePeer.address, simple, 1);
  await stopPeer(simplePeer);
  const ocrPeer = await startPeer('transport-server.ts', 'ocr_cls');
  transportOcr = await measure(ocrPeer.address, ocr, 64);
  await stopPeer(ocrPeer);
}
const E = transportOcr.throughput;
const B = 1 / (1 / E + 1 / C);

// 3. Naive peer.
const naive: Record<number, StepPoint> = {};
{
  const peer = await startPeer('naive-server.ts', 'ocr_cls');
  for (const c of levels) naive[c] = await measure(peer.address, ocr, c);
  await stopPeer(peer);
}
// The naive peer on simple at concurrency 1: session.run inline on the event loop, no thread
// hop; a reference for how much of the transport ceiling is left for anything else.
let naiveSimple: StepPoint;
{
  const peer = await startPeer('naive-server.ts', 'simple');
  naiveSimple = await measure(peer.address, simple, 1);
  await stopPeer(peer);
}

// Thread hop: a round trip to an idle piscina worker with a task as small as simple's
// (the worker sleeps between tasks, as the replica does at concurrency 1).
let hopMs: number;
{
  const pool = new Piscina({
    filename: new URL('./peers/echo-worker.ts', import.meta.url).href,
    minThreads: 1,
    maxThreads: 1,
    atomics: 'disabled',
    recordTiming: false,
  });
  const task = { sessionId: 'x', inputs: [new ArrayBuffer(64), new ArrayBuffer(64)] };
  const trips: number[] = [];
  for (let i = 0; i < 1200; i++) {
    await new Promise((r) => setTimeout(r, 0));
    const t0 = performance.now();
    await pool.run(task);
    if (i >= 200) trips.push(performance.now() - t0);
  }
  await pool.destroy();
  hopMs = summarize(trips).p50Ms;
}

// 4. This server.
const ours: Record<number, StepPoint> = {};
let oursSimple: StepPoint;
let simpleStats: { requests: number; serverMs: number; queueMs: number; inputMs: number; inferMs: number; outputMs: number };
{
  const server = await startServerProcess(['--allow-metrics=false']);
  try {
    const client = new GRPCInferenceServiceClient(server.address, credentials.createInsecure());
    const stats = () =>
      new Promise<ModelStatistics>((res, rej) =>
        client.modelStatistics({ name: 'simple', version: '' }, (e: Error | null, r: ModelStatisticsResponse) => (e ? rej(e) : res(r.modelStats[0]!))),
      );
    const before = await stats();
    oursSimple = await measure(server.address, simple, 1);
    const after = await stats();
    client.close();
    const d = (f: (s: ModelStatistics) => { count: bigint; ns: bigint } | undefined) => Number((f(after)?.ns ?? 0n) - (f(before)?.ns ?? 0n));
    const n = Number((after.inferenceStats?.success?.count ?? 0n) - (before.inferenceStats?.success?.count ?? 0n));
    const perMs = (ns: number) => ns / n / 1e6;
    simpleStats = {
      requests: n,
      serverMs: perMs(d((s) => s.inferenceStats?.success)),
      queueMs: perMs(d((s) => s.inferenceStats?.queue)),
      inputMs: perMs(d((s) => s.inferenceStats?.computeInput)),
      inferMs: perMs(d((s) => s.inferenceStats?.computeInfer)),
      outputMs: perMs(d((s) => s.inferenceStats?.computeOutput)),
    };
    for (const c of levels) ours[c] = await measure(server.address, ocr, c);
  } finally {
    await server.stop();
  }
}

const fmt = (x: number) => x.toFixed(2);
console.log(`ocr_cls (PaddleOCR cls CNN, [1,3,48,192] FP32 per request) and simple, ${cores} cores, ${interval} ms per step`);
console.log(
  `compute ceiling C = ${C.toFixed(0)} rows/s (in-process, batch ${bestBatch}, ${cores} intra-op threads); by batch: ` +
    Object.entries(compute)
      .map(([b, r]) => `b${b} ${r.toFixed(0)}`)
      .join(', '),
);
console.log(
  `transport ceiling E = ${E.toFixed(0)} calls/s (bare grpc-js, ocr_cls payload, c64; p99 ${transportOcr.p99Ms.toFixed(1)} ms); ` +
    `simple c1 p50 ${transportSimple.p50Ms.toFixed(3)} ms`,
);
console.log(`bound B = 1/(1/E + 1/C) = ${B.toFixed(0)} rows/s`);
console.log(
  table(
    ['conc', 'naive infer/s', 'naive p99 ms', 'server infer/s', 'server p50 ms', 'server p99 ms', 'server/naive', 'server/B'],
    levels.map((c) => [
      c,
      naive[c]!.throughput,
      naive[c]!.p99Ms,
      ours[c]!.throughput,
      ours[c]!.p50Ms,
      ours[c]!.p99Ms,
      fmt(ours[c]!.throughput / naive[c]!.throughput),
      fmt(ours[c]!.throughput / B),
    ]),
  ),
);
console.log(
  `simple at concurrency 1: server p50 ${oursSimple.p50Ms.toFixed(3)} ms vs transport p50 ${transportSimple.p50Ms.toFixed(3)} ms ` +
    `(x${(oursSimple.p50Ms / transportSimple.p50Ms).toFixed(2)}; target <= 1.3); ` +
    `naive peer (inline session.run, no thread hop) p50 ${naiveSimple.p50Ms.toFixed(3)} ms (x${(naiveSimple.p50Ms / transportSimple.p50Ms).toFixed(2)})`,
);
{
  // Where simple's time goes at concurrency 1 (means from the server's own statistics; the
  // hop from the in-process round trip above, same run).
  const s = simpleStats;
  const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
  const extra = oursSimple.p50Ms - transportSimple.p50Ms;
  const decodeEncode = s.serverMs - s.queueMs - s.inputMs - s.inferMs - s.outputMs;
  console.log(
    `simple c1, where the time goes: p50 over the transport ceiling ${us(extra)}; in the server (means): ` +
      `ORT run ${us(s.inferMs)}, assembly + thread hops + tensor I/O ${us(s.inputMs + s.outputMs)} (a bare worker round trip is ${us(hopMs)} here), ` +
      `queue ${us(s.queueMs)}, decode/validate/encode and the rest of the handler ${us(decodeEncode)}`,
  );
}
console.log(`targets at c64: server/B ${fmt(ours[64]!.throughput / B)} (>= 0.85), server/naive ${fmt(ours[64]!.throughput / naive[64]!.throughput)} (>= 1.8)`);

const out = join(repoRoot, 'loadtest', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'bench-ceiling.json'),
  `${JSON.stringify({ date: new Date().toISOString(), cores, interval, compute, C, E, B, transportSimple, transportOcr, naive, ours, oursSimple, naiveSimple, hopMs, simpleStats }, null, 2)}\n`,
);
writeFileSync(
  join(out, 'bench-ceiling.svg'),
  throughputLatencySvg('ocr_cls: this server vs naive peer and ceilings', 'p99 latency (ms)', [
    { name: 'this server', points: levels.map((c) => ({ throughput: ours[c]!.throughput, latencyMs: ours[c]!.p99Ms, label: `c${c}` })) },
    { name: 'naive peer', points: levels.map((c) => ({ throughput: naive[c]!.throughput, latencyMs: naive[c]!.p99Ms, label: `c${c}` })) },
    { name: 'transport ceiling', points: [{ throughput: E, latencyMs: transportOcr.p99Ms, label: 'c64' }] },
    { name: 'bound B', points: [{ throughput: B, latencyMs: 0, label: 'B' }] },
  ]),
);
console.log(`wrote ${join(out, 'bench-ceiling.json')} and bench-ceiling.svg`);
