// Open-loop load: requests arrive as a Poisson process at a fixed rate whatever the
// server does, so queueing shows up in the latencies (a closed loop hides it by slowing
// down with the server).

import { type LoadResult, noFailures, recordFailure, type Send } from './closed-loop.js';

export interface OpenLoopOptions {
  ratePerSec: number;
  durationMs: number;
  maxRequests: number;
  /** Stop sending while this many are unanswered (protects the client, counts as dropped). */
  maxOutstanding: number;
  /** Seeded uniform random in [0, 1), so runs are repeatable. */
  random: () => number;
}

export interface OpenLoopResult extends LoadResult {
  /** Arrivals not sent because maxOutstanding requests were already waiting. */
  dropped: number;
}

/** The open loop over any transport: arrival i is sent with sendFor(i). */
export async function runOpen(sendFor: (arrival: number) => Send, o: OpenLoopOptions): Promise<OpenLoopResult> {
  const latenciesMs: number[] = [];
  const failures = noFailures();
  let errors = 0;
  let dropped = 0;
  let firstError: string | undefined;
  let sent = 0;
  let outstanding = 0;
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  const end = start + o.durationMs;
  let next = start + exponential(o.random, o.ratePerSec);
  while (next < end && sent < o.maxRequests) {
    const wait = next - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // Send every arrival that is due (timers are coarser than high rates).
    while (next <= performance.now() && next < end && sent < o.maxRequests) {
      next += exponential(o.random, o.ratePerSec);
      if (outstanding >= o.maxOutstanding) {
        dropped++;
        continue;
      }
      sent++;
      outstanding++;
      const t0 = performance.now();
      const p: Promise<void> = sendFor(sent)()
        .then(
          () => void latenciesMs.push(performance.now() - t0),
          (err: Error) => {
            errors++;
            firstError ??= err.message;
            recordFailure(failures, err, t0);
          },
        )
        .finally(() => {
          outstanding--;
          inflight.delete(p);
        });
      inflight.add(p);
    }
  }
  await Promise.all(inflight);
  return { latenciesMs, errors, firstError, elapsedMs: performance.now() - start, dropped, ...failures };
}

function exponential(random: () => number, ratePerSec: number): number {
  return (-Math.log(1 - random()) / ratePerSec) * 1000;
}

/** mulberry32: a small seeded generator. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
