// How fast a model version's replicas get through rows while they are saturated, for
// overload shedding (DynamicBatcher.overload): ms per row, from the gaps between batches
// sent because a replica came free with requests still waiting. A gap then is the time the
// replicas took for the batch sent at its start, so it is divided by that batch's rows.
//
// The estimate is the median of the last SAMPLES gaps per row: one stall (a 5 s batch among
// 50 ms ones) does not move it, a lasting slowdown does within a few batches. It needs
// MIN_SAMPLES before it says anything, and forgets everything after MEMORY_MS without a
// sample (the load or the replicas changed; the first gap after a long stall would read as
// the pace otherwise). Pure logic: times come from the caller.

const SAMPLES = 16;
const MIN_SAMPLES = 3;
export const PACE_MEMORY_MS = 10_000;

export class ServicePace {
  private readonly perRow: number[] = [];
  private median = 0;
  private lastAtMs = -Infinity;
  /** The batch sent last while requests were still waiting after it: when, and its rows. */
  private backlog: { atMs: number; rows: number } | undefined;

  /** Ms per row while saturated; 0 when not known (too few samples, or forgotten). */
  msPerRow(nowMs: number): number {
    return this.perRow.length >= MIN_SAMPLES && nowMs - this.lastAtMs <= PACE_MEMORY_MS ? this.median : 0;
  }

  /**
   * A batch of `rows` went at `nowMs`; `freed`: because a replica came free (not at arrival
   * or after a batching delay); `waitingAfter`: requests are still queued after it.
   */
  dispatched(rows: number, nowMs: number, freed: boolean, waitingAfter: boolean): void {
    if (nowMs - this.lastAtMs > PACE_MEMORY_MS) this.perRow.length = 0;
    if (freed && this.backlog !== undefined && this.backlog.rows > 0) {
      this.perRow.push((nowMs - this.backlog.atMs) / this.backlog.rows);
      if (this.perRow.length > SAMPLES) this.perRow.shift();
      const sorted = [...this.perRow].sort((a, b) => a - b);
      this.median = sorted[Math.floor(sorted.length / 2)]!;
      this.lastAtMs = nowMs;
    }
    this.backlog = waitingAfter ? { atMs: nowMs, rows } : undefined;
  }

  /** The queue emptied (dispatched, cancelled, expired): the next gap would measure idleness. */
  emptied(): void {
    this.backlog = undefined;
  }
}
