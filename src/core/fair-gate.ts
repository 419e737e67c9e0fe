// How many inference requests are in progress past the frontend, across the server, and
// who goes next when that many are: waiting requests are let through one connection at a
// time, round-robin, so a client that floods the server from many streams or connections
// waits behind its own requests, not in front of everyone else's. (Triton serves requests
// in arrival order; a flood there delays every other client by the whole flood.)
//
// Pure logic: no timers, no I/O. Waiting requests are bounded by the server's connection,
// stream and queued-byte limits.

import { type ServeError, cancelled } from '../errors.js';
import type { Cancellation } from '../model/types.js';

interface Waiter {
  grant: () => void;
  fail: (err: ServeError) => void;
}

export class FairGate {
  private inProgress = 0;
  private waiting = 0;
  /** Per source (connection), its waiters in arrival order. */
  private readonly queues = new Map<string, Waiter[]>();
  /** Sources in the order they are served next (each at most once; see inRing). */
  private ring: string[] = [];
  private ringHead = 0;
  private readonly inRing = new Set<string>();

  constructor(private readonly limit: number) {}

  get running(): number {
    return this.inProgress;
  }

  get queued(): number {
    return this.waiting;
  }

  /** Takes a slot at once if one is free and nobody waits (the common case, with no promise). */
  tryAcquire(): boolean {
    if (this.inProgress < this.limit && this.waiting === 0) {
      this.inProgress++;
      return true;
    }
    return false;
  }

  /**
   * Resolves when the request may go on; the caller must call release() once it is done.
   * Rejects with CANCELLED if the caller cancels while waiting. Either way it stops listening
   * to `cancel`.
   */
  acquire(source: string, cancel?: Cancellation): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let stop: (() => void) | undefined;
      const waiter: Waiter = {
        grant: () => {
          stop?.();
          resolve();
        },
        fail: reject,
      };
      let q = this.queues.get(source);
      if (!q) {
        q = [];
        this.queues.set(source, q);
      }
      if (!this.inRing.has(source)) {
        this.inRing.add(source);
        this.ring.push(source);
      }
      q.push(waiter);
      this.waiting++;
      stop = cancel?.onCancel(() => {
        // Stops listening whichever way the wait ends: a cancellation that outlives the wait
        // (a stream's, or a timer combined with it) must not keep the listener.
        stop?.();
        if (this.remove(source, waiter)) reject(cancelled('the request was cancelled while waiting for its turn'));
      });
    });
  }

  release(): void {
    this.inProgress--;
    while (this.inProgress < this.limit && this.waiting > 0) {
      const next = this.takeNext();
      this.inProgress++;
      next.grant();
    }
  }

  private takeNext(): Waiter {
    for (;;) {
      // The served prefix is dropped now and then, so the ring stays the size of its sources.
      if (this.ringHead > 1024 && this.ringHead * 2 > this.ring.length) {
        this.ring = this.ring.slice(this.ringHead);
        this.ringHead = 0;
      }
      const source = this.ring[this.ringHead++];
      if (source === undefined) throw new Error('FairGate: waiters but no source in the ring (a bug)');
      const q = this.queues.get(source);
      if (!q) continue;
      const w = q.shift()!;
      this.waiting--;
      if (q.length > 0) {
        this.ring.push(source);
      } else {
        this.queues.delete(source);
        this.inRing.delete(source);
      }
      return w;
    }
  }

  private remove(source: string, waiter: Waiter): boolean {
    const q = this.queues.get(source);
    const i = q?.indexOf(waiter) ?? -1;
    if (i < 0) return false;
    q!.splice(i, 1);
    this.waiting--;
    if (q!.length === 0) {
      // Out of the ring too, so a later request of this source queues at the back.
      this.queues.delete(source);
      this.inRing.delete(source);
      const at = this.ring.indexOf(source, this.ringHead);
      if (at >= 0) this.ring.splice(at, 1);
    }
    return true;
  }
}
