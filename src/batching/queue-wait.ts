// Overload shedding's judgement for one model version (DynamicBatcher.overload gathers what
// is queued ahead; core/admission.ts decides whom a refusal falls on). The wait a request
// would have is estimated two ways, and it is refused at once (RESOURCE_EXHAUSTED, with a
// retry hint) when either passes the limit (--max-queue-wait, max_queue_wait_us):
//  - the rows ahead of it times the replicas' pace per row while saturated
//    (service-pace.ts); rows ahead are those queued plus requests admitted and not queued
//    yet (waiting at the frontend's in-flight gate);
//  - how long the oldest request ahead has already waited, counted from its arrival at the
//    server (waits at the frontend included): this one covers stalled replicas, which
//    dispatch nothing to measure, and a load never seen saturated.
// Under sustained overload the first catches it early: a queue that grew for `limit` ms at
// twice the capacity holds 2 × limit ms of work. Not counted as overload: the batching delay
// (max_queue_delay, or a latency target), and one batch's execution (the batch in flight,
// which any request may wait for; a model slower than the limit would otherwise shed at one
// call in flight). A request whose deadline comes before the expected wait is refused too
// (DEADLINE_EXCEEDED): it would only wait to be dropped, and its client to cancel.
// Pure logic: times come from the caller.

import { deadlineBeforeWait, queueWaitTooLong, type ServeError } from '../errors.js';
import { ServicePace } from './service-pace.js';

/** Requests are answered DEADLINE_EXCEEDED this long before their deadline rather than wait into it (DynamicBatcher's constructor says why). */
export const DEADLINE_MARGIN_MS = 10;

export interface Backlog {
  rowsAhead: number;
  /** Arrival of the oldest request ahead (not demoted); Infinity for none. */
  oldestArrivedAtMs: number;
  nowMs: number;
  deadlineAtMs: number | undefined;
}

/** A refusal and how far past the limit the wait is (1.0 = at it; Infinity: refuse whoever asks). */
export interface Overload {
  error: ServeError;
  ratio: number;
}

export class QueueWait {
  readonly pace = new ServicePace();
  /** Execution time of recent batches (ms, moving average); undefined before the first. */
  private batchMs: number | undefined;

  constructor(
    private readonly limitMs: number,
    /** The batching delay a request may wait by design: max_queue_delay or a latency target. */
    private readonly batchingDelayMs: number,
    /** A queued request is dropped this long before its deadline (DynamicBatcher says why). */
    private readonly deadlineMarginMs: number,
  ) {}

  /** A batch took `ms` from dispatch to outputs. */
  executed(ms: number): void {
    this.batchMs = this.batchMs === undefined ? ms : 0.9 * this.batchMs + 0.1 * ms;
  }

  judge(b: Backlog): Overload | undefined {
    if (this.limitMs <= 0 || b.rowsAhead === 0) return undefined;
    const expectedMs = this.pace.msPerRow(b.nowMs) * b.rowsAhead;
    const waitedMs = b.oldestArrivedAtMs === Infinity ? 0 : b.nowMs - b.oldestArrivedAtMs;
    const leftMs = b.deadlineAtMs === undefined ? Infinity : b.deadlineAtMs - b.nowMs - this.deadlineMarginMs;
    if (expectedMs > 0 && expectedMs > leftMs) return { error: deadlineBeforeWait(leftMs, expectedMs, b.rowsAhead), ratio: Number.POSITIVE_INFINITY };
    const worst = Math.max(waitedMs - this.batchingDelayMs, expectedMs) - (this.batchMs ?? 0);
    if (worst <= this.limitMs) return undefined;
    return { error: queueWaitTooLong(waitedMs, expectedMs, b.rowsAhead, this.limitMs), ratio: worst / this.limitMs };
  }
}
