// One thread of the load generator (load-generator.ts): its own connections, its share of
// the callers (closed loop) or of the arrival rate (open loop), latencies sent back.

import { parentPort, workerData } from 'node:worker_threads';
import { runClosed } from './closed-loop.js';
import { runOpen, seededRandom } from './open-loop.js';
import { openTransport, type TransportSpec } from './transports.js';
import { shareOf } from './load-generator.js';

export interface WorkerStep {
  mode: 'concurrency' | 'rate';
  level: number;
  durationMs: number;
  maxRequests: number;
  seed: number;
}

export interface WorkerResult {
  latencies: Float64Array;
  errors: number;
  dropped: number;
  firstError: string;
  elapsedMs: number;
  failureLatencies: Float64Array;
  failureKinds: Record<string, number>;
  failureSamples: Record<string, string>;
}

const { spec, index, workers } = workerData as { spec: TransportSpec; index: number; workers: number };
const transport = openTransport(spec);
const port = parentPort!;

port.on('message', (m: { type: 'step'; step: WorkerStep } | { type: 'close' }) => {
  if (m.type === 'close') {
    transport.close();
    port.close();
    return;
  }
  const s = m.step;
  const maxRequests = shareOf(s.maxRequests, index, workers);
  const run =
    s.mode === 'concurrency'
      ? runClosed((i) => transport.sendFor(i), shareOf(s.level, index, workers), s.durationMs, maxRequests).then((r) => ({ ...r, dropped: 0 }))
      : runOpen((i) => transport.sendFor(i), {
          ratePerSec: s.level / workers,
          durationMs: s.durationMs,
          maxRequests,
          maxOutstanding: Math.ceil(10_000 / workers),
          random: seededRandom(s.seed + index * 7919),
        });
  void run.then((r) => {
    const latencies = Float64Array.from(r.latenciesMs);
    const failureLatencies = Float64Array.from(r.failureLatenciesMs);
    const out: WorkerResult = {
      latencies,
      errors: r.errors,
      dropped: r.dropped,
      firstError: r.firstError ?? '',
      elapsedMs: r.elapsedMs,
      failureLatencies,
      failureKinds: r.failureKinds,
      failureSamples: r.failureSamples,
    };
    port.postMessage(out, [latencies.buffer, failureLatencies.buffer]);
  });
});
port.postMessage('ready');
