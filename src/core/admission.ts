// Who a model version's overload shedding refuses. The batcher says whether the model is
// overloaded and how far past the limit its wait is (DynamicBatcher.overload); this decides
// whom that refuses. A backlog is the doing of the sources (connections) sending most of it:
// up to LIGHT_SOURCE_BAND times the limit, a source holding less than an equal share of the
// rows admitted and not yet answered is still let in, so one client's flood is refused and
// a light client gets through, as the frontend's per-connection gate would let it. Past the
// band everyone is refused: many light clients (an HTTP/1.1 pool opens a connection per
// call in flight, so each holds almost nothing) cannot grow the queue without bound.
//
// It also counts the rows admitted and not yet queued (waiting at the frontend's gate):
// the batcher counts them as ahead of a new arrival.

import type { Overload } from '../batching/queue-wait.js';

/** How far past the limit light sources are still let in. */
export const LIGHT_SOURCE_BAND = 1.5;

export class Admission {
  /** Rows admitted and not yet queued. */
  upstreamRows = 0;
  private readonly bySource = new Map<string, number>();
  private totalRows = 0;
  /** What each admitted request holds, until it is answered or abandoned. */
  private readonly held = new WeakMap<object, { source: string; rows: number; upstream: boolean }>();

  /**
   * Admits `request` (`rows` rows from `source`), or throws the overload error when there is
   * one and the source holds at least an equal share of what is admitted, or the wait is
   * past the band.
   */
  admit(request: object, rows: number, source: string, overload: Overload | undefined): void {
    if (overload) {
      const mine = this.bySource.get(source) ?? 0;
      const light = mine < this.totalRows / Math.max(1, this.bySource.size);
      if (!light || overload.ratio > LIGHT_SOURCE_BAND) throw overload.error;
    }
    this.held.set(request, { source, rows, upstream: true });
    this.upstreamRows += rows;
    this.totalRows += rows;
    this.bySource.set(source, (this.bySource.get(source) ?? 0) + rows);
  }

  /** The request reached the queue: no longer upstream, still held until answered. Says whether it was admitted here. */
  queued(request: object): boolean {
    const h = this.held.get(request);
    if (!h) return false;
    if (h.upstream) {
      h.upstream = false;
      this.upstreamRows -= h.rows;
    }
    return true;
  }

  /** Answered, or failed before it was queued: it holds nothing any more. */
  done(request: object): void {
    const h = this.held.get(request);
    if (!h) return;
    this.queued(request);
    this.held.delete(request);
    this.totalRows -= h.rows;
    const left = (this.bySource.get(h.source) ?? 0) - h.rows;
    if (left > 0) this.bySource.set(h.source, left);
    else this.bySource.delete(h.source);
  }

  /** Sources holding rows now (tests and diagnostics). */
  get sources(): number {
    return this.bySource.size;
  }
}
