// Cumulative statistics for one model version, in the shape ModelStatistics returns
// (Triton's accounting: inference_count counts batch rows, execution_count counts model
// executions, and each request of a batch is charged the batch's compute time). Pure
// counters; the Prometheus exporter will read the same numbers.

export interface Duration {
  count: number;
  ns: number;
}

export interface BatchStats {
  batchSize: number;
  computeInput: Duration;
  computeInfer: Duration;
  computeOutput: Duration;
}

/** Durations of one model execution, in nanoseconds. */
export interface ComputeTimings {
  computeInputNs: number;
  computeInferNs: number;
  computeOutputNs: number;
}

const zero = (): Duration => ({ count: 0, ns: 0 });

/** Triton's nv_inference_request_failure reasons. */
export type FailureReason = 'REJECTED' | 'CANCELED' | 'BACKEND' | 'OTHER';

/** Per-event hooks for distributions (latency summaries, batch-size histogram). */
export interface StatsObserver {
  request(durationUs: number): void;
  queue(durationUs: number): void;
  batch(rows: number): void;
}

export class ModelStats {
  readonly failByReason: Record<FailureReason, number> = { REJECTED: 0, CANCELED: 0, BACKEND: 0, OTHER: 0 };

  constructor(private readonly observer?: StatsObserver) {}

  readonly success = zero();
  readonly fail = zero();
  readonly queue = zero();
  readonly computeInput = zero();
  readonly computeInfer = zero();
  readonly computeOutput = zero();
  inferenceCount = 0;
  executionCount = 0;
  /** Wall-clock ms since the epoch of the last request; 0 before any. */
  lastInferenceMs = 0;
  private readonly batches = new Map<number, BatchStats>();

  /** Time one request waited in the queue before its batch was formed. */
  recordQueue(ns: number): void {
    add(this.queue, ns, 1);
    this.observer?.queue(ns / 1000);
  }

  /** One model execution that served `rows` batch rows in `requests` requests. */
  recordExecution(rows: number, requests: number, t: ComputeTimings): void {
    this.executionCount++;
    this.inferenceCount += rows;
    this.observer?.batch(rows);
    add(this.computeInput, t.computeInputNs, requests);
    add(this.computeInfer, t.computeInferNs, requests);
    add(this.computeOutput, t.computeOutputNs, requests);
    let b = this.batches.get(rows);
    if (!b) {
      b = { batchSize: rows, computeInput: zero(), computeInfer: zero(), computeOutput: zero() };
      this.batches.set(rows, b);
    }
    add(b.computeInput, t.computeInputNs, 1);
    add(b.computeInfer, t.computeInferNs, 1);
    add(b.computeOutput, t.computeOutputNs, 1);
  }

  recordSuccess(durationNs: number, nowEpochMs: number): void {
    add(this.success, durationNs, 1);
    this.lastInferenceMs = nowEpochMs;
    this.observer?.request(durationNs / 1000);
  }

  recordFailure(durationNs: number, nowEpochMs: number, reason: FailureReason = 'OTHER'): void {
    add(this.fail, durationNs, 1);
    this.failByReason[reason]++;
    this.lastInferenceMs = nowEpochMs;
  }

  batchStats(): BatchStats[] {
    return [...this.batches.values()].sort((a, b) => a.batchSize - b.batchSize);
  }
}

/** Adds `count` occurrences that each lasted `ns`. */
function add(d: Duration, ns: number, count: number): void {
  d.count += count;
  d.ns += Math.max(0, Math.round(ns)) * count;
}
