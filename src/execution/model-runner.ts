// Runs one loaded model version: one piscina pool of exactly one thread per replica,
// each thread holding its own InferenceSession. Owns the pools; close() ends them.

import { Piscina } from 'piscina';
import { randomUUID } from 'node:crypto';
import { Code, ServeError } from '../errors.js';
import type { LoadResult, LoadTask, RunResult, SessionOptionsSpec, WireTensor, WorkerTask } from './protocol.js';

const here = import.meta.url;
const workerUrl = new URL(`./worker${here.endsWith('.ts') ? '.ts' : '.js'}`, here);

export type InstanceKind = 'cpu' | 'gpu';

export interface ReplicaSpec {
  /** e.g. "simple_0_0", as Triton names instances. */
  name: string;
  kind: InstanceKind;
  deviceId: number;
}

export interface RunnerSpec {
  modelName: string;
  modelPath: string;
  replicas: ReplicaSpec[];
  options: Omit<SessionOptionsSpec, 'executionProviders'>;
}

interface Replica {
  spec: ReplicaSpec;
  pool: Piscina;
  sessionId: string;
  load: LoadTask;
}

export class ModelRunner {
  private closed = false;

  private constructor(
    /** For messages. */
    readonly modelName: string,
    private readonly replicas: Replica[],
    /** Inputs and outputs as the ONNX model declares them. */
    readonly io: LoadResult,
  ) {}

  /** Starts every replica and loads the model in each; rejects with the ORT error if any fails. */
  static async create(spec: RunnerSpec): Promise<ModelRunner> {
    if (spec.replicas.length === 0) throw new ServeError(Code.INVALID_ARGUMENT, 'a model needs at least one instance');
    const replicas: Replica[] = [];
    try {
      let io: LoadResult | undefined;
      for (const r of spec.replicas) {
        if (r.kind === 'gpu') {
          throw new ServeError(
            Code.UNAVAILABLE,
            `instance ${r.name} asks for GPU ${r.deviceId}, but GPU instances (CUDA execution provider) are not implemented yet; use KIND_CPU`,
          );
        }
        const pool = new Piscina({ filename: workerUrl.href, minThreads: 1, maxThreads: 1, idleTimeout: 2 ** 31 - 1 });
        const sessionId = randomUUID();
        const load: LoadTask = {
          kind: 'load',
          sessionId,
          modelPath: spec.modelPath,
          options: { ...spec.options, executionProviders: ['cpu'] },
        };
        replicas.push({ spec: r, pool, sessionId, load });
        const loaded = (await pool.run(load)) as LoadResult;
        io ??= loaded;
      }
      return new ModelRunner(spec.modelName, replicas, io!);
    } catch (err) {
      await Promise.allSettled(replicas.map((r) => r.pool.destroy()));
      if (err instanceof ServeError) throw err;
      throw new ServeError(Code.UNAVAILABLE, errorText(err), { cause: err });
    }
  }

  get replicaCount(): number {
    return this.replicas.length;
  }

  /**
   * Runs one batch on replica `replicaIndex` (chosen by the caller's scheduling policy).
   * Input buffers are transferred to the worker and are detached afterwards.
   */
  async run(replicaIndex: number, inputs: WireTensor[], outputNames: string[]): Promise<RunResult> {
    if (this.closed) throw new ServeError(Code.UNAVAILABLE, 'the model is unloading');
    const replica = this.replicas[replicaIndex];
    if (!replica) throw new ServeError(Code.INTERNAL, `replica ${replicaIndex} does not exist (the model has ${this.replicas.length})`);
    const task: WorkerTask = { kind: 'run', sessionId: replica.sessionId, inputs, outputNames, reload: replica.load };
    try {
      return (await replica.pool.run(task, { transferList: inputs.map((i) => i.data) })) as RunResult;
    } catch (err) {
      throw new ServeError(Code.INTERNAL, `onnxruntime failed on ${replica.spec.name}: ${errorText(err)}`, { cause: err });
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
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
