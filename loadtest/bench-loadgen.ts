// npm run bench -- loadgen: the load generator's own ceiling. It loads the bare transport
// peer (a grpc-js server answering ocr_cls-sized ModelInfer with a canned response, no
// model) at concurrency 64 with 1 and 2 load threads (one connection each, and 1 thread
// over 2 connections), interleaved and repeated, and reports calls/s, latency and the CPU
// of both sides, so a reader sees which side was the limit.
//   npm run bench -- loadgen [--rounds 3 --interval 3000 --concurrency 64]

import { availableParallelism } from 'node:os';
import { benchArgs } from './bench-args.js';
import { ModelInferRequest } from '../src/generated/inference/grpc_service.js';
import { ocrRequest } from './bundled-requests.js';
import { LoadGenerator } from './load-generator.js';
import { mean, spread, summarize, table } from './percentiles.js';
import { startPeer, stopPeer } from './peers/spawn.js';
import { cpuSeconds } from './proc-cpu.js';

const { rounds, interval, concurrency } = benchArgs({ rounds: 3, interval: 3000, concurrency: 64 });

const setups = [
  { name: '1 thread, 1 connection', workers: 1, connections: 1 },
  { name: '1 thread, 2 connections', workers: 1, connections: 2 },
  { name: '2 threads, 1 connection each', workers: 2, connections: 2 },
];
const bytes = ModelInferRequest.encode(ocrRequest()).finish();
const peer = await startPeer('transport-server.ts', 'ocr_cls');
const rows = new Map<string, Array<{ rate: number; p50: number; p99: number; client: number; server: number }>>(setups.map((s) => [s.name, []]));
try {
  for (let round = 0; round < rounds; round++) {
    for (const s of setups) {
      const gen = await LoadGenerator.start(
        { address: peer.address, connections: s.connections, conn: {}, payload: { protocol: 'grpc', bytes }, timeoutMs: 60_000 },
        s.workers,
      );
      try {
        await gen.step({ mode: 'concurrency', level: concurrency, durationMs: 0, maxRequests: concurrency * 4, seed: 0 });
        const s0 = cpuSeconds(peer.child.pid!);
        const t0 = performance.now();
        const r = await gen.step({ mode: 'concurrency', level: concurrency, durationMs: interval, maxRequests: 10_000_000, seed: 0 });
        const serverCores = (cpuSeconds(peer.child.pid!) - s0) / ((performance.now() - t0) / 1000);
        if (r.errors > 0) throw new Error(`${s.name}: ${r.errors} errors: ${r.firstError}`);
        const sum = summarize(r.latenciesMs);
        rows
          .get(s.name)!
          .push({ rate: r.latenciesMs.length / (r.elapsedMs / 1000), p50: sum.p50Ms, p99: sum.p99Ms, client: r.clientCores, server: serverCores });
      } finally {
        await gen.close();
      }
    }
  }
} finally {
  await stopPeer(peer);
}

const base = mean(rows.get(setups[0]!.name)!.map((x) => x.rate));
console.log(
  `the load generator against the bare transport peer (ocr_cls payload, 110 KB per request, c${concurrency}), ${availableParallelism()} cores, ` +
    `${rounds} rounds interleaved, ${interval} ms per step; cpu in cores; spread = max/min - 1 of calls/s`,
);
console.log(
  table(
    ['load generator', 'calls/s', 'p50 ms', 'p99 ms', 'client cpu', 'peer cpu', 'spread', 'vs 1 thread'],
    setups.map((s) => {
      const xs = rows.get(s.name)!;
      const rate = mean(xs.map((x) => x.rate));
      return [
        s.name,
        rate,
        mean(xs.map((x) => x.p50)),
        mean(xs.map((x) => x.p99)),
        mean(xs.map((x) => x.client)),
        mean(xs.map((x) => x.server)),
        spread(xs.map((x) => x.rate)),
        `x${(rate / base).toFixed(3)}`,
      ];
    }),
  ),
);
