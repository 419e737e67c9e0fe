// The dynamic batcher of one model version: priority queues, queue policies, and the
// decision of when to send which requests as one batch. Pure logic on an injected clock.
//
// It only forms batches and hands them on (`dispatch`); the replica set that executes
// them says whether a replica has room (`hasRoom`) and calls `wake()` when that may have
// changed (a batch finished, a breaker closed). A batch is formed only while a replica
// has room, so under load requests accumulate and batches grow by themselves.

import type { Clock, Timer } from '../clock.js';
import { Code, ServeError, deadlineInQueue, queueFull, unloading } from '../errors.js';
import { LatencyTargetAdvisor } from './latency-target.js';
import { QueueWait, type Overload } from './queue-wait.js';
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
  /** Overload shedding's estimate of the wait (and the replicas' pace it measures). */
  private readonly wait: QueueWait;
  /** Present when the model sets latency_target_us: it decides waits and batch caps. */
  readonly advisor: LatencyTargetAdvisor | undefined;

  /**
   * `deadlineMarginMs`: a queued request is answered DEADLINE_EXCEEDED this long before its
   * deadline, so the answer reaches the client before its own timer fires; a client that
   * times out first cancels with RST_STREAM, and nghttp2 closes a connection (GOAWAY
   * INTERNAL_ERROR, failing every call on it) after about 1000 of those (its CVE-2023-44487
   * guard: 1000 tokens, 33 a second back).
   */
  constructor(
    private readonly policy: BatchingPolicy,
    private readonly clock: Clock,
    private readonly sink: BatcherSink<T>,
    private readonly deadlineMarginMs = 0,
  ) {
    this.levels = Array.from({ length: Math.max(1, policy.priorityLevels) + 1 }, () => []);
    this.rowsWaiting = new Array<number>(this.levels.length).fill(0);
    // The wait a batch may take by design: a latency target's (at most half the target) or max_queue_delay.
    const batchingDelayMs = policy.latencyTargetUs > 0 ? policy.latencyTargetUs / 2000 : policy.maxQueueDelayUs / 1000;
    this.wait = new QueueWait(policy.maxQueueWaitMs, batchingDelayMs, deadlineMarginMs);
    if (policy.dynamic && policy.latencyTargetUs > 0) {
      this.advisor = new LatencyTargetAdvisor({ targetUs: policy.latencyTargetUs, safety: 0.8, maxBatchSize: policy.maxBatchSize });
    }
  }

  /** A batch took `ms` from dispatch to outputs: what latency-target batching learns from. */
  executed(batch: Batch<T>, ms: number): void {
    this.wait.executed(ms);
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
    this.nextExpiryAtMs = Math.min(this.nextExpiryAtMs, this.expiresAt(request), request.timeoutAtMs ?? Infinity);
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
   * anything (submit does not check: a request let in here is not refused after waiting);
   * queue-wait.ts says how. "Ahead" means its own level and those served before it, not
   * requests demoted by a DELAY timeout. admit() throws; overload() tells the caller, which
   * decides whom to refuse (core/admission.ts).
   */
  admit(priority: number, rowsUpstream = 0, deadlineAtMs?: number): void {
    const o = this.overload(priority, rowsUpstream, deadlineAtMs);
    if (o) throw o.error;
  }

  overload(priority: number, rowsUpstream = 0, deadlineAtMs?: number): Overload | undefined {
    if (this.policy.maxQueueWaitMs <= 0) return undefined;
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
    return this.wait.judge({ rowsAhead, oldestArrivedAtMs: oldest, nowMs: this.clock.now(), deadlineAtMs });
  }

  /** When a queued request is dropped for its deadline (the margin before it); Infinity for none. */
  private expiresAt(r: QueuedRequest<T>): number {
    return r.deadlineAtMs === undefined ? Infinity : r.deadlineAtMs - this.deadlineMarginMs;
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
  /**
   * `marginMs`: drop requests whose deadline is that close. pump() drops on the deadline
   * itself before it dispatches (a request with a little time left may still go now), and
   * with the margin after, for what must keep waiting.
   */
  private expire(now: number, marginMs: number): void {
    if (now < this.nextExpiryAtMs) return;
    let next = Infinity;
    for (let l = 1; l < this.levels.length; l++) {
      const q = this.levels[l]!;
      const action = this.policy.queuePolicies[l]!.timeoutAction;
      for (let i = 0; i < q.length; ) {
        const r = q[i]!;
        if (r.deadlineAtMs !== undefined && now >= r.deadlineAtMs - marginMs) {
          q.splice(i, 1);
          this.left(r);
          this.sink.reject(r, deadlineInQueue((now - r.enqueuedAtMs) * 1000, r.deadlineAtMs - now));
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
        next = Math.min(next, this.expiresAt(r));
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
    this.expire(now, 0);
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
      this.wait.pace.dispatched(
        rows,
        now,
        fromWake,
        this.levels.some((q) => q.length > 0),
      );
      this.sink.dispatch({ requests: c.take, rows, formedAtMs: now });
    }
    this.expire(now, this.deadlineMarginMs);
    this.schedule(waitUntil);
  }

  /** One timer: the earliest of the batch delay, a queue timeout, or a deadline. */
  private schedule(batchAtMs: number): void {
    if (this.levels.every((q) => q.length === 0)) {
      this.nextExpiryAtMs = Infinity;
      this.wait.pace.emptied();
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
