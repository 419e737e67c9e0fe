// Runs one loaded model version: one piscina pool of exactly one thread per replica,
// each thread holding its own InferenceSession. Owns the pools; close() ends them.

import { Piscina } from 'piscina';
import { randomUUID } from 'node:crypto';
import { Code, ServeError, unloading } from '../errors.js';
import type { LoadResult, LoadTask, RunResult, SessionOptionsSpec, WireTensor, WorkerTask } from './protocol.js';
import { cudaUnavailableReason } from './providers.js';

const here = import.meta.url;
const workerUrl = new URL(`./worker${here.endsWith('.ts') ? '.ts' : '.js'}`, here);

/** KIND_GPU, KIND_CPU, KIND_AUTO. */
export type InstanceKind = 'cpu' | 'gpu' | 'auto';

export interface ReplicaSpec {
  /** e.g. "simple_0_0", as Triton names instances. */
  name: string;
  kind: InstanceKind;
  /** GPU id for gpu and auto; ignored for cpu. */
  deviceId: number;
}

export interface RunnerSpec {
  modelName: string;
  modelPath: string;
  /** The model's bytes, decrypted in memory; modelPath is then not read. */
  modelBytes?: SharedArrayBuffer | undefined;
  replicas: ReplicaSpec[];
  options: Omit<SessionOptionsSpec, 'executionProviders'>;
  /** JS heap limit of each worker thread, in MB (0: Node's default). */
  workerMaxOldGenerationMb?: number;
  /** Told where each replica landed, e.g. KIND_AUTO falling back to the CPU. */
  onPlacement?: (replica: string, device: string, note: string) => void;
}

interface Replica {
  spec: ReplicaSpec;
  pool: Piscina;
  sessionId: string;
  load: LoadTask;
  /** "cpu" or "gpu:N". */
  device: string;
  /** Runs left that must fail (test fault switch). */
  failRuns: number;
}

export class ModelRunner {
  private closed = false;

  private constructor(
    /** For messages. */
    readonly modelName: string,
    private readonly replicas: Replica[],
    /** Inputs and outputs as the ONNX model declares them. */
    readonly io: LoadResult,
    /** Decrypted model bytes, zeroed once the workers are gone. */
    private readonly modelBytes: SharedArrayBuffer | undefined,
  ) {}

  /**
   * Starts every replica and loads the model in each on its device; rejects with the
   * reason (ORT's error, or why the GPU cannot be used) if any fails.
   */
  static async create(spec: RunnerSpec): Promise<ModelRunner> {
    if (spec.replicas.length === 0) throw new ServeError(Code.INVALID_ARGUMENT, 'a model needs at least one instance');
    const replicas: Replica[] = [];
    try {
      let io: LoadResult | undefined;
      for (const r of spec.replicas) {
        const noCuda = r.kind === 'cpu' ? '' : cudaUnavailableReason();
        if (r.kind === 'gpu' && noCuda) {
          throw new ServeError(Code.UNAVAILABLE, `instance ${r.name} is KIND_GPU (GPU ${r.deviceId}), but ${noCuda}`);
        }
        const pool = new Piscina({
          filename: workerUrl.href,
          minThreads: 1,
          // Measured (npm run bench -- ceiling): with Atomics.wait in idle workers the hop to a
          // worker costs more and its tail is worse than with plain message passing here.
          atomics: 'disabled',
          // piscina's own run/wait histograms: the server keeps its own statistics.
          recordTiming: false,
          maxThreads: 1,
          idleTimeout: 2 ** 31 - 1,
          ...(spec.workerMaxOldGenerationMb ? { resourceLimits: { maxOldGenerationSizeMb: spec.workerMaxOldGenerationMb } } : {}),
        });
        // Errors of a worker between tasks; tasks' own errors reach their callers.
        pool.on('error', () => undefined);
        const sessionId = randomUUID();
        const replica: Replica = { spec: r, pool, sessionId, load: loadTask(sessionId, spec, 'cpu'), device: 'cpu', failRuns: 0 };
        replicas.push(replica);
        let loaded: LoadResult;
        if (r.kind === 'cpu' || (r.kind === 'auto' && noCuda)) {
          loaded = (await pool.run(replica.load)) as LoadResult;
          if (r.kind === 'auto') spec.onPlacement?.(r.name, 'cpu', `KIND_AUTO runs on the CPU: ${noCuda}`);
        } else {
          const gpuLoad = loadTask(sessionId, spec, { name: 'cuda', deviceId: r.deviceId });
          try {
            loaded = (await pool.run(gpuLoad)) as LoadResult;
            replica.load = gpuLoad;
            replica.device = `gpu:${r.deviceId}`;
            spec.onPlacement?.(r.name, replica.device, `CUDA execution provider on GPU ${r.deviceId}`);
          } catch (err) {
            if (r.kind === 'gpu') throw new ServeError(Code.UNAVAILABLE, `instance ${r.name} cannot use GPU ${r.deviceId}: ${errorText(err)}`, { cause: err });
            loaded = (await pool.run(replica.load)) as LoadResult;
            spec.onPlacement?.(r.name, 'cpu', `KIND_AUTO runs on the CPU: a CUDA session on GPU ${r.deviceId} failed: ${errorText(err)}`);
          }
        }
        io ??= loaded;
      }
      return new ModelRunner(spec.modelName, replicas, io!, spec.modelBytes);
    } catch (err) {
      await Promise.allSettled(replicas.map((r) => r.pool.destroy()));
      zero(spec.modelBytes);
      if (err instanceof ServeError) throw err;
      throw new ServeError(Code.UNAVAILABLE, errorText(err), { cause: err });
    }
  }

  get replicaCount(): number {
    return this.replicas.length;
  }

  /** Where each replica runs: "cpu" or "gpu:N". */
  get devices(): string[] {
    return this.replicas.map((r) => r.device);
  }

  /** Test fault switch: the next `runs` batches on replica `index` fail. */
  failNext(index: number, runs: number): void {
    const r = this.replicas[index];
    if (!r) throw new ServeError(Code.INVALID_ARGUMENT, `model '${this.modelName}' has no replica ${index}`);
    r.failRuns = runs;
  }

  /**
   * Runs one batch on replica `replicaIndex` (chosen by the caller's scheduling policy).
   * Input buffers are transferred to the worker and are detached afterwards.
   */
  async run(replicaIndex: number, inputs: WireTensor[], outputNames: string[], fault?: string): Promise<RunResult> {
    if (this.closed) throw unloading();
    const replica = this.replicas[replicaIndex];
    if (!replica) throw new ServeError(Code.INTERNAL, `replica ${replicaIndex} does not exist (the model has ${this.replicas.length})`);
    if (replica.failRuns > 0) {
      replica.failRuns--;
      fault ??= 'fail';
    }
    const task: WorkerTask = { kind: 'run', sessionId: replica.sessionId, inputs, outputNames, reload: replica.load, ...(fault ? { fault } : {}) };
    try {
      return (await replica.pool.run(task, { transferList: inputs.map((i) => i.data) })) as RunResult;
    } catch (err) {
      const text = errorText(err);
      if (/worker exited|Terminating worker|out of memory|ERR_WORKER/i.test(text) || (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        throw new ServeError(Code.INTERNAL, `replica ${replica.spec.name}'s worker thread died while running this batch (${text}); a new worker replaces it`, {
          cause: err,
        });
      }
      throw new ServeError(Code.INTERNAL, `onnxruntime failed on ${replica.spec.name}: ${text}`, { cause: err });
    }
  }

  /** Waits for queued runs to finish, then ends the worker threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(
      this.replicas.map(async (r) => {
        await r.pool.run({ kind: 'unload', sessionId: r.sessionId } satisfies WorkerTask).catch(() => undefined);
        await r.pool.close();
      }),
    );
    zero(this.modelBytes);
  }
}

function loadTask(sessionId: string, spec: RunnerSpec, ep: SessionOptionsSpec['executionProviders'][number]): LoadTask {
  return {
    kind: 'load',
    sessionId,
    modelPath: spec.modelPath,
    ...(spec.modelBytes ? { modelBytes: spec.modelBytes } : {}),
    options: { ...spec.options, executionProviders: [ep] },
  };
}

/** A decrypted model leaves no plaintext in memory that is handed back. */
function zero(bytes: SharedArrayBuffer | undefined): void {
  if (bytes) new Uint8Array(bytes).fill(0);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
