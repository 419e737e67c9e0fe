// What flows between stages for one request, independent of the wire format.

import type { Datatype } from '../tensor/datatype.js';

export type ModelState = 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';

/** A tensor as raw little-endian bytes (BYTES: 4-byte length-prefixed elements). */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  /** Owns its whole ArrayBuffer (offset 0), so it can be transferred to a worker. */
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
}

export interface InferenceResult {
  outputs: Tensor[];
}

/** Durations of one model execution, in nanoseconds. */
export interface ExecutionTimings {
  queueNs: number;
  computeInputNs: number;
  computeInferNs: number;
  computeOutputNs: number;
}
