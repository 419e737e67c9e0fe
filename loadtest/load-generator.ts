// The load generator: worker threads, each with its own connections, so that the client
// is not the limit (one grpc-js client on one event loop tops out below what the server
// can answer). Each step reports the generator's own CPU use in cores, so a reader can
// tell when the client, not the server, was the limit.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { TransportSpec } from './transports.js';
import { summarize } from './percentiles.js';
import type { WorkerResult, WorkerStep } from './load-worker.js';

export interface GeneratedStep {
  latenciesMs: number[];
  errors: number;
  dropped: number;
  firstError: string | undefined;
  elapsedMs: number;
  failureLatenciesMs: number[];
  failureKinds: Record<string, number>;
  failureSamples: Record<string, string>;
  /** CPU the generator used during the step, in cores (of `cores`). */
  clientCores: number;
  cores: number;
}

/** Worker `index` of `workers` takes an even share of `n`, the first ones one more. */
export function shareOf(n: number, index: number, workers: number): number {
  return Math.floor(n / workers) + (index < n % workers ? 1 : 0);
}

export class LoadGenerator {
  private constructor(private readonly workers: Worker[]) {}

  /** Starts `workers` threads; `spec.connections` are spread over them (at least one each). */
  static async start(spec: TransportSpec, workers: number): Promise<LoadGenerator> {
    const started = Array.from({ length: workers }, (_, index) => {
      const connections = Math.max(1, shareOf(spec.connections, index, workers));
      return new Worker(new URL('./load-worker-entry.mjs', import.meta.url), { workerData: { spec: { ...spec, connections }, index, workers } });
    });
    try {
      await Promise.all(started.map((w) => reply<unknown>(w)));
    } catch (err) {
      await Promise.all(started.map((w) => w.terminate()));
      throw err;
    }
    return new LoadGenerator(started);
  }

  async step(s: WorkerStep): Promise<GeneratedStep> {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const results = await Promise.all(
      this.workers.map((w) => {
        const answer = reply<WorkerResult>(w);
        w.postMessage({ type: 'step', step: s });
        return answer;
      }),
    );
    const wallMs = performance.now() - t0;
    const used = process.cpuUsage(cpu);
    const latenciesMs: number[] = [];
    for (const r of results) for (const x of r.latencies) latenciesMs.push(x);
    const failureLatenciesMs: number[] = [];
    const failureKinds: Record<string, number> = {};
    const failureSamples: Record<string, string> = {};
    for (const r of results) {
      for (const [k, m] of Object.entries(r.failureSamples)) failureSamples[k] ??= m;
      for (const x of r.failureLatencies) failureLatenciesMs.push(x);
      for (const [k, n] of Object.entries(r.failureKinds)) failureKinds[k] = (failureKinds[k] ?? 0) + n;
    }
    return {
      failureLatenciesMs,
      failureKinds,
      failureSamples,
      latenciesMs,
      errors: results.reduce((a, r) => a + r.errors, 0),
      dropped: results.reduce((a, r) => a + r.dropped, 0),
      firstError: results.find((r) => r.firstError)?.firstError,
      elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
      clientCores: (used.user + used.system) / 1000 / wallMs,
      cores: availableParallelism(),
    };
  }

  /** Each thread closes its connections and ends; one that does not within a second is terminated. */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        let timer: NodeJS.Timeout | undefined;
        const exited = new Promise<boolean>((r) => w.once('exit', () => r(true)));
        w.postMessage({ type: 'close' });
        const clean = await Promise.race([exited, new Promise<false>((r) => (timer = setTimeout(() => r(false), 1000)))]);
        clearTimeout(timer);
        if (!clean) await w.terminate();
      }),
    );
  }
}

/** The thread's next message, or its error or exit; the listeners are removed either way. */
function reply<T>(w: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    const onMessage = (m: T): void => {
      done();
      resolve(m);
    };
    const onError = (err: Error): void => {
      done();
      reject(err);
    };
    const onExit = (code: number): void => {
      done();
      reject(new Error(`a load thread exited (${code})`));
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
  });
}

/** Threads for a load that must not be the limit: 2 from 4 cores up, else 1 (the server needs the other core). */
export function defaultWorkers(): number {
  return availableParallelism() >= 4 ? 2 : 1;
}

/**
 * One closed-loop step over gRPC with the load generator (warm-up of 2 × `concurrency`
 * calls first); any error throws. Connections: one per thread unless given.
 */
export async function measureGrpc(
  address: string,
  bytes: Uint8Array,
  concurrency: number,
  intervalMs: number,
  o: { workers?: number; connections?: number } = {},
): Promise<{ throughput: number; p50Ms: number; p99Ms: number; clientCores: number }> {
  const workers = o.workers ?? defaultWorkers();
  const gen = await LoadGenerator.start(
    { address, connections: o.connections ?? workers, conn: {}, payload: { protocol: 'grpc', bytes }, timeoutMs: 60_000 },
    workers,
  );
  try {
    await gen.step({ mode: 'concurrency', level: concurrency, durationMs: 0, maxRequests: concurrency * 2, seed: 0 });
    const r = await gen.step({ mode: 'concurrency', level: concurrency, durationMs: intervalMs, maxRequests: 10_000_000, seed: 0 });
    if (r.errors > 0) throw new Error(`${address}: ${r.errors} errors: ${r.firstError}`);
    const s = summarize(r.latenciesMs);
    return { throughput: r.latenciesMs.length / (r.elapsedMs / 1000), p50Ms: s.p50Ms, p99Ms: s.p99Ms, clientCores: r.clientCores };
  } finally {
    await gen.close();
  }
}
