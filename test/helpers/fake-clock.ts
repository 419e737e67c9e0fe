// A clock the test moves by hand. Timers fire, in time order, only inside advance().

import type { Clock, Timer } from '../../src/clock.js';

export class FakeClock implements Clock {
  private t = 0;
  private timers: Array<{ at: number; fn: () => void; live: boolean; order: number }> = [];
  private order = 0;

  now(): number {
    return this.t;
  }

  setTimer(atMs: number, fn: () => void): Timer {
    const entry = { at: atMs, fn, live: true, order: this.order++ };
    this.timers.push(entry);
    return {
      cancel: () => {
        entry.live = false;
      },
    };
  }

  /** Live timers. */
  get pending(): number {
    return this.timers.filter((t) => t.live).length;
  }

  /** Moves time forward by `ms`, firing due timers in order (including ones they set). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!due) break;
      due.live = false;
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.timers = this.timers.filter((t) => t.live);
    this.t = end;
  }
}
