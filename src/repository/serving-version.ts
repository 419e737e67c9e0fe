// A ready model version: takes validated requests, runs them on the version's replicas
// and records what happened. Every request is executed as its own batch for now; the
// dynamic batcher (issue #4) slots in between infer() and the runner.

import type { ModelConfig } from '../generated/inference/model_config.js';
import { ModelStats } from '../metrics/model-stats.js';
import type { ModelRunner } from '../execution/model-runner.js';
import { RoundRobin, type ReplicaPicker } from '../scheduling/round-robin.js';
import type { WireTensor } from '../execution/protocol.js';
import type { ServingVersion } from '../model/registry.js';
import type { InferenceRequest, InferenceResult, Tensor } from '../model/types.js';
import { Code, ServeError } from '../errors.js';
import { datatypeByConfigEnum, datatypeByName, type Datatype } from '../tensor/datatype.js';

export interface MonotonicClock {
  /** Milliseconds, monotonic, fractional. */
  now(): number;
}

export class DirectServingVersion implements ServingVersion {
  readonly stats = new ModelStats();
  private readonly outputTypes = new Map<string, Datatype>();
  private readonly picker: ReplicaPicker = new RoundRobin();

  constructor(
    readonly version: number,
    private readonly runner: ModelRunner,
    config: ModelConfig,
    private readonly clock: MonotonicClock,
  ) {
    for (const o of config.output) {
      const d = datatypeByConfigEnum(o.dataType);
      if (d) this.outputTypes.set(o.name, d.name);
    }
  }

  async infer(request: InferenceRequest): Promise<InferenceResult> {
    const inputs: WireTensor[] = request.inputs.map((t) => ({
      name: t.name,
      ortType: datatypeByName(t.datatype)!.ortType,
      shape: t.shape,
      data: wholeBuffer(t.data),
    }));
    const started = this.clock.now();
    const result = await this.runner.run(this.picker.pick(this.runner.replicaCount), inputs, request.outputs);
    const wallNs = (this.clock.now() - started) * 1e6;
    const t = result.timings;
    const computeNs = t.computeInputNs + t.computeInferNs + t.computeOutputNs;
    // Time not spent computing was spent waiting for the replica and crossing threads.
    const queueNs = Math.max(0, wallNs - computeNs);
    this.stats.recordExecution(Math.max(1, request.batchSize), 1, { ...t, queueNs });
    const outputs: Tensor[] = result.outputs.map((o) => {
      const datatype = this.outputTypes.get(o.name);
      if (!datatype) throw new ServeError(Code.INTERNAL, `model '${request.modelName}' produced output '${o.name}', which its config does not list`);
      return { name: o.name, datatype, shape: o.shape, data: new Uint8Array(o.data) };
    });
    return { outputs };
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}

function wholeBuffer(data: Uint8Array): ArrayBuffer {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) {
    return data.buffer;
  }
  return data.slice().buffer;
}
