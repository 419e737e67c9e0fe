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

type Duration2 = StatisticDuration | undefined;
const add = (a: Duration2, b: Duration2): StatisticDuration => ({ count: (a?.count ?? 0n) + (b?.count ?? 0n), ns: (a?.ns ?? 0n) + (b?.ns ?? 0n) });
const INFER_FIELDS = ['success', 'fail', 'queue', 'computeInput', 'computeInfer', 'computeOutput', 'cacheHit', 'cacheMiss'] as const;

/** Every process's statistics as one list: counts and times summed per model version, the last inference the latest. */
export function mergeStatistics(lists: readonly ModelStatistics[][]): ModelStatistics[] {
  if (lists.length === 1) return lists[0]!;
  const merged = new Map<string, ModelStatistics>();
  for (const list of lists) {
    for (const s of list) {
      const key = `${s.name}\u0000${s.version}`;
      const m = merged.get(key);
      if (!m) {
        merged.set(key, structuredClone(s));
        continue;
      }
      if (s.lastInference > m.lastInference) m.lastInference = s.lastInference;
      m.inferenceCount += s.inferenceCount;
      m.executionCount += s.executionCount;
      const mi = m.inferenceStats!;
      for (const f of INFER_FIELDS) mi[f] = add(mi[f], s.inferenceStats?.[f]);
      for (const b of s.batchStats) {
        const mb = m.batchStats.find((x) => x.batchSize === b.batchSize);
        if (!mb) m.batchStats.push(structuredClone(b));
        else {
          mb.computeInput = add(mb.computeInput, b.computeInput);
          mb.computeInfer = add(mb.computeInfer, b.computeInfer);
          mb.computeOutput = add(mb.computeOutput, b.computeOutput);
        }
      }
    }
  }
  for (const m of merged.values()) m.batchStats.sort((a, b) => (a.batchSize < b.batchSize ? -1 : 1));
  return [...merged.values()];
}
