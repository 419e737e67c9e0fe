// Messages between the main thread and replica worker threads. Tensor data crosses as
// ArrayBuffers that are transferred (moved), never copied; BYTES tensors cross as
// length-prefixed bytes too and become strings only inside the worker.

export interface WireTensor {
  name: string;
  /** onnxruntime-node type name: 'float32', 'int64', 'string', ... */
  ortType: string;
  shape: number[];
  /** Raw little-endian element bytes; BYTES as 4-byte length-prefixed elements. */
  data: ArrayBuffer;
}

export interface TensorInfo {
  name: string;
  ortType: string;
  /** -1 for a dimension the model leaves open. */
  shape: number[];
}

export interface SessionOptionsSpec {
  intraOpNumThreads: number;
  interOpNumThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  /** Whether ORT's idle pool threads spin before they block (ORT's own default is yes). */
  allowSpinning: boolean;
  /** Execution providers in order of preference: 'cpu', or CUDA on one device. */
  executionProviders: Array<'cpu' | { name: 'cuda'; deviceId: number }>;
}

export interface LoadTask {
  kind: 'load';
  sessionId: string;
  /** The model file; with modelBytes only a label (the bytes were decrypted from it). */
  modelPath: string;
  /**
   * The model's bytes, when they must not be read from modelPath (a model encrypted at
   * rest, decrypted in memory). Shared, so a run task carrying its reload copies nothing.
   */
  modelBytes?: SharedArrayBuffer;
  options: SessionOptionsSpec;
}

export interface RunTask {
  kind: 'run';
  sessionId: string;
  inputs: WireTensor[];
  outputNames: string[];
  /** How to recreate the session if this thread lost it (piscina replaces a thread that died). */
  reload: LoadTask;
  /** Test-only fault (honoured only with TRITON_TS_TEST_FAULTS=1): fail, throw, exit or oom. */
  fault?: string;
}

export interface UnloadTask {
  kind: 'unload';
  sessionId: string;
}

export type WorkerTask = LoadTask | RunTask | UnloadTask;

export interface LoadResult {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

/** Nanosecond durations measured inside the worker, reported in ModelStatistics. */
export interface RunTimings {
  computeInputNs: number;
  computeInferNs: number;
  computeOutputNs: number;
}

export interface RunResult {
  outputs: WireTensor[];
  timings: RunTimings;
}
