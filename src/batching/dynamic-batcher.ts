// The dynamic batcher of one model version: priority queues, queue policies, and the
// decision of when to send which requests as one batch. Pure logic on an injected clock.
//
// It only forms batches and hands them on (`dispatch`); the replica set that executes
// them says whether a replica has room (`hasRoom`) and calls `wake()` when that may have
// changed (a batch finished, a breaker closed). A batch is formed only while a replica
// has room, so under load requests accumulate and batches grow by themselves.

import type { Clock, Timer } from '../clock.js';
import { Code, ServeError, deadlineInQueue, queueFull, queueWaitTooLong, unloading } from '../errors.js';
import { LatencyTargetAdvisor } from './latency-target.js';
import { ServicePace } from './service-pace.js';
import type { BatchingPolicy } from './policy.js';
import type { BatcherSink, Batch, QueuedRequest, SubmitOptions } from './batch-types.js';

export type { Batch, BatcherSink, QueuedRequest, SubmitOptions } from './batch-types.js';

/** Rows a request counts for in shedding: at least 1 (a request with no inputs has none). */
const weight = (r: { rows: number }): number => Math.max(1, r.rows);

export class DynamicBatcher<T> {
  /** levels[l] holds level l's requests in arrival order; index 0 is unused. */
  private readonly levels: QueuedRequest<T>[][];
  /** Per level, rows queued and not demoted by a DELAY timeout: what shedding counts, kept as they change. */
  private readonly rowsWaiting: number[];
  private nextSeq = 0;
  private timer: Timer | undefined;
  private timerAtMs = Infinity;
  /**
   * No queued request's deadline or queue timeout falls before this: the queue is scanned
   * for them only from then on, not on every submit (a deep queue made each submit O(n)).
   * It may be earlier than the true next expiry (a request that left), never later.
   */
  private nextExpiryAtMs = Infinity;
  private closed = false;
  /** Set by stopAccepting: new requests are refused, queued ones go without waiting. */
  private drainReason: string | undefined;
  /** The replicas' pace while saturated (ms per row), for overload shedding. */
  private readonly pace = new ServicePace();
  /** Execution time of recent batches (ms, moving average); undefined before the first. */
  private batchMs: number | undefined;
  /** Present when the model sets latency_target_us: it decides waits and batch caps. */
  readonly advisor: LatencyTargetAdvisor | undefined;

  constructor(
    private readonly policy: BatchingPolicy,
    private readonly clock: Clock,
    private readonly sink: BatcherSink<T>,
  ) {
    this.levels = Array.from({ length: Math.max(1, policy.priorityLevels) + 1 }, () => []);
    this.rowsWaiting = new Array<number>(this.levels.length).fill(0);
    if (policy.dynamic && policy.latencyTargetUs > 0) {
      this.advisor = new LatencyTargetAdvisor({ targetUs: policy.latencyTargetUs, safety: 0.8, maxBatchSize: policy.maxBatchSize });
    }
  }

  /** A batch took `ms` from dispatch to outputs: what latency-target batching learns from. */
  executed(batch: Batch<T>, ms: number): void {
    // The batch in flight is a wait every request may have, overloaded or not: shedding allows it.
    this.batchMs = this.batchMs === undefined ? ms : 0.9 * this.batchMs + 0.1 * ms;
    if (!this.advisor) return;
    this.advisor.executed(batch.rows, ms);
    this.advisor.observe(
      batch.requests.map((r) => batch.formedAtMs - r.enqueuedAtMs + ms),
      batch.formedAtMs + ms,
    );
  }

  /** Why new requests are refused (stopAccepting), or undefined while it accepts them. */
  get draining(): string | undefined {
    return this.drainReason;
  }

  get queuedRequests(): number {
    return this.levels.reduce((n, q) => n + q.length, 0);
  }

  /**
   * Queues a request, then forms whatever batches can go now. Throws RESOURCE_EXHAUSTED
   * when its level's queue is full, INVALID_ARGUMENT for more rows than max_batch_size,
   * UNAVAILABLE after close().
   */
  submit(opts: SubmitOptions<T>): QueuedRequest<T> {
    if (this.closed) throw unloading();
    if (this.drainReason !== undefined && !opts.admitted) throw new ServeError(Code.UNAVAILABLE, this.drainReason);
    const p = this.policy;
    if (opts.rows > p.maxBatchSize) {
      throw new ServeError(Code.INVALID_ARGUMENT, `batch of ${opts.rows} rows exceeds max_batch_size ${p.maxBatchSize}`);
    }
    const level = this.levelOf(opts.priority);
    const qp = p.queuePolicies[level]!;
    const queue = this.levels[level]!;
    if (qp.maxQueueSize > 0 && queue.length >= qp.maxQueueSize) {
      throw queueFull(level, qp.maxQueueSize);
    }
    const now = this.clock.now();
    let timeoutUs = qp.defaultTimeoutUs;
    if (qp.allowTimeoutOverride && opts.timeoutUs > 0 && (timeoutUs === 0 || opts.timeoutUs < timeoutUs)) timeoutUs = opts.timeoutUs;
    const request: QueuedRequest<T> = {
      seq: this.nextSeq++,
      rows: opts.rows,
      shapeKey: opts.shapeKey,
      level,
      enqueuedAtMs: now,
      arrivedAtMs: Math.min(now, opts.arrivedAtMs ?? now),
      timeoutAtMs: timeoutUs > 0 ? now + timeoutUs / 1000 : undefined,
      deadlineAtMs: opts.deadlineAtMs,
      payload: opts.payload,
      delayed: false,
    };
    queue.push(request);
    this.rowsWaiting[level]! += weight(request);
    this.nextExpiryAtMs = Math.min(this.nextExpiryAtMs, request.deadlineAtMs ?? Infinity, request.timeoutAtMs ?? Infinity);
    this.advisor?.arrived(request.rows, now);
    this.pump();
    return request;
  }

  /** Removes a request that has not been dispatched. Returns false if it already left the queue. */
  cancel(request: QueuedRequest<T>): boolean {
    const queue = this.levels[request.level];
    const i = queue?.indexOf(request) ?? -1;
    if (i < 0) return false;
    queue!.splice(i, 1);
    this.left(request);
    this.pump();
    return true;
  }

  /** Room may have appeared (a batch finished, a replica came back): form what can go. */
  wake(): void {
    this.pump(true);
  }

  /** Rejects every queued request with `error` (e.g. every replica is out of rotation). */
  rejectAll(error: ServeError): void {
    for (const q of this.levels) {
      for (const r of q.splice(0)) this.sink.reject(r, error);
    }
    this.rowsWaiting.fill(0);
    this.schedule(Infinity);
  }

  /**
   * Refuses new requests (UNAVAILABLE with `reason`) but keeps serving the queued ones,
   * sending each batch as soon as a replica has room (no batching delay): how a version
   * that is being unloaded or replaced drains.
   */
  stopAccepting(reason: string): void {
    this.drainReason = reason;
    this.pump();
  }

  /** Rejects everything still queued; later submits are UNAVAILABLE. */
  close(reason: string): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    for (const q of this.levels) {
      for (const r of q.splice(0)) this.sink.reject(r, new ServeError(Code.UNAVAILABLE, reason));
    }
    this.rowsWaiting.fill(0);
  }

  /**
   * Overload shedding, checked when a request reaches the server, before it waits for
   * anything (submit does not check: a request let in here is not refused after waiting).
   * The wait a request would have is estimated two ways, and it is refused at once
   * (RESOURCE_EXHAUSTED, with a retry hint) when either passes --max-queue-wait:
   *  - the rows ahead of it times the replicas' pace per row while saturated
   *    (service-pace.ts); rows ahead are those queued plus `rowsUpstream`, requests
   *    admitted and not queued yet (waiting at the frontend's in-flight gate);
   *  - how long the oldest request ahead has already waited, counted from its arrival at
   *    the server (waits at the frontend included): this one covers stalled replicas,
   *    which dispatch nothing to measure, and a load never seen saturated.
   * Under sustained overload the first catches it early: a queue that grew for `limit` ms at
   * twice the capacity holds 2 × limit ms of work. "Ahead" means its own level and those
   * served before it, not requests demoted by a DELAY timeout. Not counted as overload: the
   * batching delay (max_queue_delay, or a latency target), and one batch's execution (the
   * batch in flight, which any request may wait for). admit() throws; overload() tells the
   * caller, which decides whom to refuse (core/admission.ts).
   */
  admit(priority: number, rowsUpstream = 0): void {
    const o = this.overload(priority, rowsUpstream);
    if (o) throw o.error;
  }

  /**
   * The refusal admit() would throw and how far past the limit the wait is (1.0 = at it), or
   * undefined: the caller decides whom it refuses (core/admission.ts).
   */
  overload(priority: number, rowsUpstream = 0): { error: ServeError; ratio: number } | undefined {
    const p = this.policy;
    if (p.maxQueueWaitMs <= 0) return undefined;
    const now = this.clock.now();
    let oldest = Infinity;
    let rowsAhead = rowsUpstream;
    for (let l = 1, level = this.levelOf(priority); l <= level; l++) {
      rowsAhead += this.rowsWaiting[l]!;
      // The oldest not demoted: demoted requests are old by definition and served last.
      for (const r of this.levels[l]!) {
        if (r.delayed) continue;
        if (r.arrivedAtMs < oldest) oldest = r.arrivedAtMs;
        break;
      }
    }
    if (rowsAhead === 0) return undefined;
    const batchingDelayMs = p.maxQueueDelayUs / 1000 + p.latencyTargetUs / 1000;
    const expectedMs = this.pace.msPerRow(now) * rowsAhead;
    const waitedMs = oldest === Infinity ? 0 : now - oldest - batchingDelayMs;
    // A request may wait for the batch running ahead of it however light the load: that is
    // not overload (a model slower than the limit would otherwise shed at one call in flight).
    const worst = Math.max(waitedMs, expectedMs) - (this.batchMs ?? 0);
    if (worst <= p.maxQueueWaitMs) return undefined;
    return { error: queueWaitTooLong(oldest === Infinity ? 0 : now - oldest, expectedMs, rowsAhead, p.maxQueueWaitMs), ratio: worst / p.maxQueueWaitMs };
  }

  /** A request left its queue (or was demoted): it no longer counts for shedding. */
  private left(r: QueuedRequest<T>): void {
    if (!r.delayed) this.rowsWaiting[r.level]! -= weight(r);
  }

  private levelOf(priority: number): number {
    const n = this.policy.priorityLevels;
    if (n === 0) return 1;
    return priority >= 1 && priority <= n ? priority : this.policy.defaultPriorityLevel;
  }

  /** Requests in the order they are served: by level, and within a level the delayed ones last. */
  private *ordered(): Generator<QueuedRequest<T>> {
    for (let l = 1; l < this.levels.length; l++) {
      const q = this.levels[l]!;
      for (const r of q) if (!r.delayed) yield r;
      for (const r of q) if (r.delayed) yield r;
    }
  }

  /** Drops requests whose deadline passed; applies queue timeouts (REJECT drops, DELAY demotes). */
  private expire(now: number): void {
    if (now < this.nextExpiryAtMs) return;
    let next = Infinity;
    for (let l = 1; l < this.levels.length; l++) {
      const q = this.levels[l]!;
      const action = this.policy.queuePolicies[l]!.timeoutAction;
      for (let i = 0; i < q.length; ) {
        const r = q[i]!;
        if (r.deadlineAtMs !== undefined && now >= r.deadlineAtMs) {
          q.splice(i, 1);
          this.left(r);
          this.sink.reject(r, deadlineInQueue((now - r.enqueuedAtMs) * 1000));
          continue;
        }
        if (!r.delayed && r.timeoutAtMs !== undefined && now >= r.timeoutAtMs) {
          if (action === 'REJECT') {
            q.splice(i, 1);
            this.left(r);
            this.sink.reject(
              r,
              new ServeError(
                Code.DEADLINE_EXCEEDED,
                `timed out after ${Math.round((now - r.enqueuedAtMs) * 1000)} µs in the queue (queue policy timeout); not executed`,
              ),
            );
            continue;
          }
          this.left(r); // demoted: no longer ahead of new arrivals
          r.delayed = true;
        }
        if (r.deadlineAtMs !== undefined) next = Math.min(next, r.deadlineAtMs);
        if (!r.delayed && r.timeoutAtMs !== undefined) next = Math.min(next, r.timeoutAtMs);
        i++;
      }
    }
    this.nextExpiryAtMs = next;
  }

  /** The requests the next batch would take, in order, and when it may go. */
  private candidate(now: number): { take: QueuedRequest<T>[]; sendAtMs: number } | undefined {
    const p = this.policy;
    const take: QueuedRequest<T>[] = [];
    let rows = 0;
    let key: string | undefined;
    // A latency target may cap batches below max_batch_size (never below one request).
    const cap = this.advisor ? this.advisor.maxRows() : p.maxBatchSize;
    for (const r of this.ordered()) {
      if (key === undefined) key = r.shapeKey;
      else if (r.shapeKey !== key) continue;
      if (rows + r.rows > (take.length === 0 ? p.maxBatchSize : cap)) break;
      take.push(r);
      rows += r.rows;
      if (!p.dynamic || rows >= cap) break;
    }
    if (take.length === 0) return undefined;
    if (!p.dynamic || rows >= cap || this.drainReason !== undefined) return { take, sendAtMs: now };
    if (!this.advisor && p.maxQueueDelayUs === 0) return { take, sendAtMs: now };
    // A preferred size that the queued requests fill exactly goes at once, the largest first.
    let prefix = 0;
    let best = 0;
    take.forEach((r, i) => {
      prefix += r.rows;
      if (p.preferredBatchSizes.includes(prefix)) best = i + 1;
    });
    if (best > 0) return { take: take.slice(0, best), sendAtMs: now };
    const oldest = Math.min(...take.map((r) => r.enqueuedAtMs));
    // With a latency target the wait is the advisor's, in place of max_queue_delay.
    if (this.advisor) return { take, sendAtMs: now + this.advisor.waitMs(rows, now - oldest) };
    return { take, sendAtMs: oldest + p.maxQueueDelayUs / 1000 };
  }

  /** `fromWake`: room appeared in a replica (the batches it sends now measure the replicas' pace). */
  private pump(fromWake = false): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.expire(now);
    let waitUntil = Infinity;
    while (this.sink.hasRoom()) {
      const c = this.candidate(now);
      if (!c) break;
      if (c.sendAtMs > now) {
        waitUntil = c.sendAtMs;
        break;
      }
      for (const r of c.take) {
        const q = this.levels[r.level]!;
        q.splice(q.indexOf(r), 1);
        this.left(r);
      }
      const rows = c.take.reduce((n, r) => n + r.rows, 0);
      this.pace.dispatched(
        rows,
        now,
        fromWake,
        this.levels.some((q) => q.length > 0),
      );
      this.sink.dispatch({ requests: c.take, rows, formedAtMs: now });
    }
    this.schedule(waitUntil);
  }

  /** One timer: the earliest of the batch delay, a queue timeout, or a deadline. */
  private schedule(batchAtMs: number): void {
    if (this.levels.every((q) => q.length === 0)) {
      this.nextExpiryAtMs = Infinity;
      this.pace.emptied();
    }
    const at = Math.min(batchAtMs, this.nextExpiryAtMs);
    if (at === this.timerAtMs) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAtMs = at;
    if (at === Infinity) return;
    this.timer = this.clock.setTimer(at, () => {
      this.timer = undefined;
      this.timerAtMs = Infinity;
      this.pump();
    });
  }
}
