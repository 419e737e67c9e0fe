// ModelStatistics messages from a version's statistics (Triton's field meanings), and
// Triton's failure reasons for the failure counter.

import type { ModelStatistics, StatisticDuration } from '../generated/inference/grpc_service.js';
import { Code, ServeError } from '../errors.js';
import type { Duration, FailureReason, ModelStats } from '../metrics/model-stats.js';

/** Triton's failure reasons: the scheduler turned it away, the caller gave up, the backend failed, or else. */
export function failureReason(err: unknown): FailureReason {
  const code = err instanceof ServeError ? err.code : Code.INTERNAL;
  if (code === Code.RESOURCE_EXHAUSTED || code === Code.DEADLINE_EXCEEDED || code === Code.UNAVAILABLE) return 'REJECTED';
  if (code === Code.CANCELLED) return 'CANCELED';
  if (code === Code.INTERNAL) return 'BACKEND';
  return 'OTHER';
}

/** A non-negative count as uint64. */
function u64(n: number): bigint {
  return BigInt(Math.max(0, Math.trunc(n)));
}

function duration(d: Duration): StatisticDuration {
  return { count: u64(d.count), ns: u64(d.ns) };
}

export function statsMessage(name: string, version: number, s: ModelStats): ModelStatistics {
  return {
    name,
    version: String(version),
    lastInference: u64(s.lastInferenceMs),
    inferenceCount: u64(s.inferenceCount),
    executionCount: u64(s.executionCount),
    inferenceStats: {
      success: duration(s.success),
      fail: duration(s.fail),
      queue: duration(s.queue),
      computeInput: duration(s.computeInput),
      computeInfer: duration(s.computeInfer),
      computeOutput: duration(s.computeOutput),
      cacheHit: { count: 0n, ns: 0n },
      cacheMiss: { count: 0n, ns: 0n },
    },
    batchStats: s.batchStats().map((b) => ({
      batchSize: u64(b.batchSize),
      computeInput: duration(b.computeInput),
      computeInfer: duration(b.computeInfer),
      computeOutput: duration(b.computeOutput),
    })),
    memoryUsage: [],
  };
}
