// The error catalogue: the one error type that crosses module boundaries, its codes, and
// the builders for every error that more than one module raises (so a kind of failure
// reads the same wherever it happens). `code` is a gRPC status number from our own table,
// so inner modules never import @grpc/grpc-js; frontend/grpc/status.ts (toServiceError)
// and frontend/http/status.ts (httpStatusOf) are the only places that turn it into a
// status. Errors raised in one place only (a JSON body's shape, a config rule) are built
// there with invalid() and friends.

export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type CodeValue = (typeof Code)[keyof typeof Code];

export class ServeError extends Error {
  readonly code: CodeValue;
  /** When the client may try again, in ms: HTTP Retry-After, gRPC grpc-retry-pushback-ms. */
  readonly retryAfterMs: number | undefined;

  constructor(code: CodeValue, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.name = 'ServeError';
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

export const invalid = (message: string): ServeError => new ServeError(Code.INVALID_ARGUMENT, message);
export const notFound = (message: string): ServeError => new ServeError(Code.NOT_FOUND, message);
export const unavailable = (message: string): ServeError => new ServeError(Code.UNAVAILABLE, message);
export const exhausted = (message: string): ServeError => new ServeError(Code.RESOURCE_EXHAUSTED, message);

// Finding a model and its version (registry, core, repository, both frontends).

export const modelNotFound = (model: string): ServeError => notFound(`model '${model}' is not in the model repository`);

export const versionNotInteger = (model: string, version: string): ServeError => invalid(`model '${model}': version '${version}' is not a positive integer`);

export const versionNotFound = (model: string, version: number | string, known: readonly number[] = []): ServeError =>
  notFound(`model '${model}' has no version ${version}${known.length > 0 ? ` (versions: ${known.join(', ')})` : ''}`);

export const versionNotReady = (model: string, version: number, state: string, reason?: string): ServeError =>
  unavailable(`model '${model}' version ${version} is ${state}${reason ? `: ${reason}` : ''}`);

export const modelLoading = (model: string): ServeError => unavailable(`model '${model}' is LOADING; retry when ModelReady says it is ready`);

export const noReadyVersion = (model: string, why?: string): ServeError => unavailable(`model '${model}' has no ready version${why ? ` (${why})` : ''}`);

export const notLoaded = (model: string): ServeError =>
  unavailable(`model '${model}' is in the model repository but not loaded; load it with RepositoryModelLoad`);

// A model going away, and requests that end before they ran.

export const unloading = (): ServeError => unavailable('the model is unloading');

/** `what` says what was cancelled and when: 'the call was cancelled while queued'. */
export const cancelled = (what: string): ServeError => new ServeError(Code.CANCELLED, `${what}; not executed`);

export const deadlineInQueue = (queuedUs: number, leftMs = 0): ServeError =>
  new ServeError(
    Code.DEADLINE_EXCEEDED,
    leftMs > 0
      ? `deadline ${Math.round(leftMs)} ms away after ${Math.round(queuedUs)} µs in the queue, still waiting: not executed (answered before the client gives up)`
      : `deadline passed after ${Math.round(queuedUs)} µs in the queue; not executed`,
  );

export const deadlineBeforeWait = (leftMs: number, expectedMs: number, rowsAhead: number): ServeError =>
  new ServeError(
    Code.DEADLINE_EXCEEDED,
    `its deadline (${Math.max(0, Math.round(leftMs))} ms left) comes before the expected wait in the queue (${Math.round(expectedMs)} ms, ${rowsAhead} request row(s) ahead); not queued`,
  );

// Load the server sheds: retry later.

export const queueFull = (level: number, maxQueueSize: number): ServeError =>
  exhausted(`queue of priority level ${level} is full (max_queue_size ${maxQueueSize}); retry later`);

/**
 * Overload shedding: RESOURCE_EXHAUSTED (HTTP 429) like a full queue, so a proxy can tell it
 * from an outage; the retry hint is how far the wait is past the limit (at least 100 ms).
 */
export const queueWaitTooLong = (waitedMs: number, expectedMs: number, rowsAhead: number, limitMs: number): ServeError =>
  new ServeError(
    Code.RESOURCE_EXHAUSTED,
    `overloaded: ${rowsAhead} request row(s) queued ahead, expected wait ${Math.round(expectedMs)} ms, the oldest waiting ${Math.round(waitedMs)} ms; ` +
      `past the ${limitMs} ms allowed (--max-queue-wait, model parameter max_queue_wait_us); not queued, retry later or elsewhere`,
    { retryAfterMs: Math.max(100, Math.round(Math.max(waitedMs, expectedMs) - limitMs)) },
  );

export const gateWaitTooLong = (waitedMs: number, slots: number): ServeError =>
  new ServeError(
    Code.RESOURCE_EXHAUSTED,
    `overloaded: waited ${waitedMs} ms for one of the server's ${slots} in-flight slots (--max-inflight-requests), all held by requests queued or running; not queued, retry later or elsewhere`,
    { retryAfterMs: Math.max(100, Math.round(waitedMs)) },
  );

export const deadlineAtGate = (waitedMs: number): ServeError =>
  new ServeError(
    Code.DEADLINE_EXCEEDED,
    `its deadline is about to pass after ${waitedMs} ms waiting for an in-flight slot (--max-inflight-requests); not executed`,
  );

export const everyReplicaOpen = (model: string): ServeError =>
  unavailable(`model '${model}': every replica is out of rotation (circuit breakers open after failures); retry later`);

/** A bound from src/limits.ts passed; `flag` names the tritonserver-style flag that sets it. */
export const overLimit = (what: string, flag: string): ServeError => exhausted(`the request holds ${what}; the server's limit is set by --${flag}`);

// What this server does not do (yet): UNIMPLEMENTED, never a silent fallback.

export const notImplemented = (what: string): ServeError => new ServeError(Code.UNIMPLEMENTED, `${what} is not implemented by this server yet`);
