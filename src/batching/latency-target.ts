// Latency-target batching (beyond Triton): instead of a fixed max_queue_delay, the batcher
// is told a latency target and decides itself how long a batch may wait and how big it
// may grow, from what it measures:
//
//   exec(n)  execution time of a batch of n rows: a least-squares line a + b·n over recent
//            batches (per-row cost b, fixed cost a), refreshed after every batch;
//   λ        arrival rate in rows per ms: 1 / the exponentially weighted average gap per row.
//
// A request that arrives just as a batch starts waits for that batch's whole cycle (its
// wait plus its execution) and then runs in the next one: its latency is about two cycles.
// So each cycle gets half the budget (the target times a safety factor for the tail), and
// no batch grows past the largest n with exec(n) inside it.
// Waiting costs latency, so it waits only as much as the load needs: the replica keeps up
// when its utilisation λ·exec(n)/n stays under 0.75, which needs batches of at least
// n* = λ·a / (0.75 − λ·b) rows. With n rows queued and the oldest waited w, it waits for
// the missing n* − n rows (about (n* − n)/λ ms), but never so long that the cycle
// w + d + exec(n + λ·d) leaves its half budget (bisection). Light load: no wait at all;
// heavier load: bigger batches, still inside the target; execution slower or arrivals
// faster: the numbers move and so do the waits. Before it has measured anything it does
// not wait.
//
// The model misses costs it cannot see (two cores shared with gRPC and the clients make
// per-row cost rise with load), so the wait also has a floor tuned online by what matters:
// the latency requests actually get. Time is cut into epochs (at least 64 requests and
// 500 ms); each epoch runs one candidate floor (0, 1, 2, 5, 10, 20, 40 ms, those inside the
// half budget) and scores it by the 95th percentile of its requests' queue + execution
// time (averaged with earlier epochs of the same floor). Most epochs use the best-scoring
// floor; every fourth tries a neighbour of it, and scores older than 12 epochs are
// forgotten, so the choice follows the load. Pure logic: times come from the caller.

export interface LatencyTargetOptions {
  targetUs: number;
  /** Fraction of the target the estimate may use; the rest is headroom for the tail. */
  safety: number;
  maxBatchSize: number;
}

interface Sample {
  rows: number;
  ms: number;
}

const floorsMs = [0, 1, 2, 5, 10, 20, 40];

export class LatencyTargetAdvisor {
  private readonly samples: Sample[] = [];
  private fit = { a: 0, b: 0 };
  private rateRowsPerMs = 0;
  private gapMsPerRow: number | undefined;
  /** Online tuning of the wait floor: candidates, their scores, the running epoch. */
  private readonly floors: number[];
  private readonly scores: Array<number | undefined>;
  /** Epoch at which each score was last refreshed; scores older than 12 epochs are forgotten. */
  private readonly scoredAt: number[];
  private current = 0;
  private epochStartMs: number | undefined;
  private epochLatencies: number[] = [];
  private epochs = 0;
  private lastArrivalMs: number | undefined;

  constructor(private readonly opts: LatencyTargetOptions) {
    if (!(opts.targetUs > 0)) throw new RangeError('targetUs must be positive');
    this.floors = floorsMs.filter((f) => f === 0 || f <= this.budgetMs);
    this.scores = this.floors.map(() => undefined);
    this.scoredAt = this.floors.map(() => 0);
  }

  /** The wait floor in force now, in ms. */
  get floorMs(): number {
    return this.floors[this.current]!;
  }

  /** Latencies (queue + execution, ms) of the requests of one finished batch, at `nowMs`. */
  observe(latenciesMs: readonly number[], nowMs: number): void {
    this.epochStartMs ??= nowMs;
    this.epochLatencies.push(...latenciesMs);
    if (this.epochLatencies.length < 64 || nowMs - this.epochStartMs < 500) return;
    const sorted = [...this.epochLatencies].sort((x, y) => x - y);
    const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!;
    const old = this.scores[this.current];
    this.scores[this.current] = old === undefined ? p95 : 0.5 * old + 0.5 * p95;
    this.scoredAt[this.current] = this.epochs;
    this.epochLatencies = [];
    this.epochStartMs = nowMs;
    this.epochs++;
    // The load moves on: what a floor scored long ago says little now.
    this.scores.forEach((_, i) => {
      if (this.epochs - this.scoredAt[i]! > 12) this.scores[i] = undefined;
    });
    let best = 0;
    this.scores.forEach((sc, i) => {
      if (sc !== undefined && (this.scores[best] === undefined || sc < this.scores[best]!)) best = i;
    });
    if (this.epochs % 4 === 0) {
      // Explore a neighbour of the best, alternating up and down.
      const step = this.epochs % 8 === 0 ? -1 : 1;
      const next = Math.min(this.floors.length - 1, Math.max(0, best + step));
      this.current = next === best ? Math.min(this.floors.length - 1, Math.max(0, best - step)) : next;
    } else {
      this.current = best;
    }
  }

  /** Budget in ms for one cycle: the oldest request's queue wait plus its batch's execution. */
  get budgetMs(): number {
    return ((this.opts.targetUs / 1000) * this.opts.safety) / 2;
  }

  /**
   * Rows arrived at `nowMs`. The rate is the inverse of the average gap per row: averaging
   * 1/gap instead would be dominated by the many short gaps of bursty (Poisson) arrivals.
   */
  arrived(rows: number, nowMs: number): void {
    if (this.lastArrivalMs !== undefined) {
      const gapPerRow = Math.max(0, nowMs - this.lastArrivalMs) / Math.max(1, rows);
      this.gapMsPerRow = this.gapMsPerRow === undefined ? gapPerRow : 0.95 * this.gapMsPerRow + 0.05 * gapPerRow;
      this.rateRowsPerMs = this.gapMsPerRow > 0 ? 1 / this.gapMsPerRow : 0;
    }
    this.lastArrivalMs = nowMs;
  }

  /** A batch of `rows` took `ms` from dispatch to outputs back. */
  executed(rows: number, ms: number): void {
    this.samples.push({ rows, ms });
    if (this.samples.length > 64) this.samples.shift();
    this.refit();
  }

  /** Predicted execution time of a batch of n rows, in ms; undefined before any measurement. */
  exec(n: number): number | undefined {
    if (this.samples.length === 0) return undefined;
    return Math.max(0, this.fit.a + this.fit.b * n);
  }

  /** The largest batch whose execution alone fits the budget (at least 1). */
  maxRows(): number {
    const max = this.opts.maxBatchSize;
    if (this.samples.length === 0 || this.fit.b <= 0) return max;
    const n = Math.floor((this.budgetMs - this.fit.a) / this.fit.b);
    return Math.max(1, Math.min(max, n));
  }

  /**
   * How long, from now, the batch may keep waiting for more rows: 0 to send now.
   * `queuedRows` are the rows the batch would take now, `oldestWaitMs` how long its oldest
   * request has waited.
   */
  waitMs(queuedRows: number, oldestWaitMs: number): number {
    const cap = this.maxRows();
    const rate = this.rateRowsPerMs;
    if (queuedRows >= cap || this.samples.length === 0) return 0;
    const finish = (d: number): number => oldestWaitMs + d + this.exec(Math.min(cap, queuedRows + rate * d))!;
    if (finish(0) >= this.budgetMs) return 0;
    let want = Math.max(0, this.floorMs - oldestWaitMs);
    if (rate > 0) {
      const { a, b } = this.fit;
      const headroom = 0.75 - rate * b;
      const needed = headroom > 0 ? Math.min(cap, Math.ceil((rate * a) / headroom)) : cap;
      if (queuedRows < needed) want = Math.max(want, (needed - queuedRows) / rate);
    }
    if (want <= 0) return 0;
    if (finish(want) <= this.budgetMs) return want;
    let lo = 0;
    let hi = want;
    for (let i = 0; i < 30; i++) {
      const mid = (lo + hi) / 2;
      if (finish(mid) <= this.budgetMs) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** Least squares over the recent samples; a single batch size falls back to a proportional fit. */
  private refit(): void {
    const n = this.samples.length;
    const mx = this.samples.reduce((s, x) => s + x.rows, 0) / n;
    const my = this.samples.reduce((s, x) => s + x.ms, 0) / n;
    let sxx = 0;
    let sxy = 0;
    for (const s of this.samples) {
      sxx += (s.rows - mx) ** 2;
      sxy += (s.rows - mx) * (s.ms - my);
    }
    if (sxx < 1e-9) {
      this.fit = { a: 0, b: my / mx };
      return;
    }
    const b = Math.max(0, sxy / sxx);
    this.fit = { a: Math.max(0, my - b * mx), b };
  }
}
