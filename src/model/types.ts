// What flows between stages for one request, independent of the wire format.

import type { Datatype } from '../tensor/datatype.js';

import type { RegionLease } from '../shm/system-shared-memory.js';

export type ModelState = 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';

/** A tensor as raw little-endian bytes (BYTES: 4-byte length-prefixed elements). */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  /**
   * May be a view into the request message; batch assembly copies it once, or moves a
   * buffer the view spans whole to the worker. So once a request is submitted its input
   * bytes may be detached: nothing may read them after that.
   */
  data: Uint8Array;
}

export interface InferenceRequest {
  modelName: string;
  /** The resolved version that serves this request. */
  version: number;
  id: string;
  inputs: Tensor[];
  /** Output names to return, in the order the response lists them. */
  outputs: string[];
  /** Rows in the batch dimension; 0 for models that do not batch. */
  batchSize: number;
  /** Monotonic ms at which the frontend received the request. */
  receivedAtMs: number;
  /** Request parameter `priority`; 0 when not given (the model's default level). */
  priority: number;
  /** Request parameter `timeout` in µs; 0 when not given. */
  timeoutUs: number;
  /** Monotonic ms of the caller's deadline; undefined for none. */
  deadlineAtMs: number | undefined;
  /** Told when the caller cancels. */
  cancel: Cancellation | undefined;
  /** Request parameter `test_fault`, read only when the server runs with test faults enabled. */
  testFault?: string | undefined;
  /** Shared memory the request uses (held until its answer is built), and where outputs go. */
  sharedMemory?: SharedMemoryUse | undefined;
}

export interface SharedMemoryUse {
  leases: RegionLease[];
  /** Output name → the region part it is written to. */
  outputs: Map<string, { lease: RegionLease; offset: number; byteSize: number }>;
}

/**
 * The caller's cancellation. Lighter than an AbortSignal, which costs a DOMException and
 * an EventTarget dispatch per call on the hot path (measured: about 20 µs a request here).
 */
export interface Cancellation {
  /** Calls `listener` once if the caller cancels; the returned function stops listening. */
  onCancel(listener: () => void): () => void;
}

export interface InferenceResult {
  outputs: Tensor[];
}
