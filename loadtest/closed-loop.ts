// Closed-loop load: `concurrency` callers, each sending its next request as soon as the
// previous one is answered, for a fixed time and at most a fixed number of requests.

import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type { ModelInferRequest, ModelInferResponse } from '../src/generated/inference/grpc_service.js';
import type { GRPCInferenceServiceClient } from '../src/generated/inference/grpc_service.js';

export type Client = InstanceType<typeof GRPCInferenceServiceClient>;

export interface LoadResult {
  latenciesMs: number[];
  errors: number;
  firstError: string | undefined;
  elapsedMs: number;
  /** How long each failed call took to fail, the failures by kind (failureKind), and the first message of each kind. */
  failureLatenciesMs: number[];
  failureKinds: Record<string, number>;
  failureSamples: Record<string, string>;
}

/** A failed call's kind: its gRPC status name, its HTTP status, or 'other'. */
export function failureKind(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number') return GRPC_STATUS_NAMES[code] ?? `grpc ${code}`;
  const http = /^HTTP (\d{3})/.exec((err as Error)?.message ?? '');
  return http ? `HTTP ${http[1]}` : 'other';
}

const GRPC_STATUS_NAMES = Object.fromEntries(
  Object.entries(status)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v, k]),
) as Record<number, string>;

/** Counts a failure of a call that started at t0. */
export function recordFailure(r: Failures, err: unknown, t0: number): void {
  r.failureLatenciesMs.push(performance.now() - t0);
  const kind = failureKind(err);
  r.failureKinds[kind] = (r.failureKinds[kind] ?? 0) + 1;
  r.failureSamples[kind] ??= String((err as Error)?.message ?? err).slice(0, 300);
}

export type Failures = Pick<LoadResult, 'failureLatenciesMs' | 'failureKinds' | 'failureSamples'>;

export const noFailures = (): Failures => ({ failureLatenciesMs: [], failureKinds: {}, failureSamples: {} });

export function inferOnce(client: Client, req: ModelInferRequest, timeoutMs = 60_000): Promise<ModelInferResponse> {
  return new Promise((resolve, reject) => {
    client.modelInfer(req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, res: ModelInferResponse) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** One call of the load: resolves when answered, rejects with why it failed. */
export type Send = () => Promise<unknown>;

export function closedLoop(
  client: Client,
  makeRequest: () => ModelInferRequest,
  concurrency: number,
  durationMs: number,
  maxRequests: number,
): Promise<LoadResult> {
  const send: Send = () => inferOnce(client, makeRequest());
  return runClosed(() => send, concurrency, durationMs, maxRequests);
}

/** The closed loop over any transport: caller i sends with sendFor(i). */
export async function runClosed(sendFor: (caller: number) => Send, concurrency: number, durationMs: number, maxRequests: number): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const failures = noFailures();
  let errors = 0;
  let firstError: string | undefined;
  let sent = 0;
  const start = performance.now();
  // A duration of 0 is no time limit: the request cap ends it (a warm-up of N calls).
  const deadline = durationMs > 0 ? start + durationMs : Infinity;
  const worker = async (caller: number): Promise<void> => {
    const send = sendFor(caller);
    while (performance.now() < deadline && sent < maxRequests) {
      sent++;
      const t0 = performance.now();
      try {
        await send();
        latenciesMs.push(performance.now() - t0);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
        recordFailure(failures, err, t0);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  return { latenciesMs, errors, firstError, elapsedMs: performance.now() - start, ...failures };
}

export interface StepPoint {
  /** Calls answered per second. */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
}
