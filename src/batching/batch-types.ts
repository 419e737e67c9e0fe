// What the dynamic batcher (dynamic-batcher.ts) queues, forms and hands on.

import type { ServeError } from '../errors.js';

export interface QueuedRequest<T> {
  /** Arrival order. */
  readonly seq: number;
  /** Batch rows this request carries (1 for models that do not batch). */
  readonly rows: number;
  /** Requests batch together only when their keys (non-batch shapes) are equal. */
  readonly shapeKey: string;
  /** 1 is served first. */
  readonly level: number;
  readonly enqueuedAtMs: number;
  /** When the request reached the server (before any wait at the frontend); enqueuedAtMs if not given. */
  readonly arrivedAtMs: number;
  /** When the queue policy's timeout runs out; undefined for none. */
  readonly timeoutAtMs: number | undefined;
  /** When the caller's deadline passes; undefined for none. */
  readonly deadlineAtMs: number | undefined;
  readonly payload: T;
  /** Timed out under a DELAY policy: served after the level's other requests. */
  delayed: boolean;
}

export interface Batch<T> {
  requests: QueuedRequest<T>[];
  rows: number;
  /** Monotonic ms at which the batch was formed. */
  formedAtMs: number;
}

export interface SubmitOptions<T> {
  rows: number;
  shapeKey: string;
  /** Request parameter `priority`; 0 or out of range means the default level. */
  priority: number;
  /** Request parameter `timeout` in µs; 0 means none given. */
  timeoutUs: number;
  /** Monotonic ms; undefined for no deadline. */
  deadlineAtMs: number | undefined;
  /** Monotonic ms at which the request reached the server; now when absent. */
  arrivedAtMs?: number | undefined;
  /** Admitted before the version stopped accepting (it waited at the frontend): queued while it drains. */
  admitted?: boolean | undefined;
  payload: T;
}

export interface BatcherSink<T> {
  /** Whether a replica can take a batch now. */
  hasRoom(): boolean;
  /** A batch to execute now; must take the room synchronously. Called from submit, wake or a timer. */
  dispatch(batch: Batch<T>): void;
  /** A queued request that will never execute (timed out, deadline passed, closed). */
  reject(request: QueuedRequest<T>, error: ServeError): void;
}
