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

/** Longest delay setTimeout honours; Node fires a longer one after 1 ms instead. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The real clock: performance.now and setTimeout; far-off times re-arm in steps. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (atMs, fn) => {
    let t: NodeJS.Timeout;
    const arm = (): void => {
      const delay = atMs - performance.now();
      t = delay > MAX_TIMEOUT_MS ? setTimeout(arm, MAX_TIMEOUT_MS) : setTimeout(fn, Math.max(0, delay));
    };
    arm();
    return { cancel: () => clearTimeout(t) };
  },
};
