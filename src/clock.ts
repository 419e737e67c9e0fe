// Time for the batcher and scheduler, injected so tests run on a fake clock.
// batching/ and scheduling/ never read time or set timers any other way.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional). */
  now(): number;
  /** Calls `fn` once, at or after monotonic time `atMs`. */
  setTimer(atMs: number, fn: () => void): Timer;
}

/** The real clock: performance.now and setTimeout. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (atMs, fn) => {
    const t = setTimeout(fn, Math.max(0, atMs - performance.now()));
    return { cancel: () => clearTimeout(t) };
  },
};
