// A ready model version: requests go through the version's dynamic batcher, batches run
// on the version's replicas, outputs are split back per request. Owns the batcher and
// the runner; close() drains both.

import type { Clock } from '../clock.js';
import type { ModelConfig } from '../generated/inference/model_config.js';
import { DynamicBatcher, type Batch, type QueuedRequest } from '../batching/dynamic-batcher.js';
import { InOrderGate } from '../batching/in-order.js';
import type { BatchingPolicy } from '../batching/policy.js';
import type { ModelRunner } from '../execution/model-runner.js';
import type { WireTensor } from '../execution/protocol.js';
import { ModelStats } from '../metrics/model-stats.js';
import type { ServingVersion } from '../model/registry.js';
import type { InferenceRequest, InferenceResult, Tensor } from '../model/types.js';
import { Code, ServeError } from '../errors.js';
import { RoundRobin } from '../scheduling/round-robin.js';
import { concatRows, splitRows, type RowsTensor } from '../tensor/batch.js';
import { ownedCopy } from '../tensor/codec.js';
import { datatypeByConfigEnum, datatypeByName, type Datatype } from '../tensor/datatype.js';

export type MonotonicClock = Pick<Clock, 'now'>;

interface Pending {
  request: InferenceRequest;
  ticket: number;
  resolve(result: InferenceResult): void;
  reject(err: unknown): void;
}

export class BatchingServingVersion implements ServingVersion {
  readonly stats = new ModelStats();
  private readonly outputTypes = new Map<string, Datatype>();
  private readonly outputOrder: string[];
  private readonly inputOrder: string[];
  private readonly batching: boolean;
  private readonly batcher: DynamicBatcher<Pending>;
  private readonly gate: InOrderGate;
  private readonly picker = new RoundRobin();
  private readonly inFlight: number[];
  private running = 0;
  private drained: (() => void) | undefined;

  constructor(
    readonly version: number,
    private readonly runner: ModelRunner,
    config: ModelConfig,
    policy: BatchingPolicy,
    private readonly clock: Clock,
  ) {
    for (const o of config.output) {
      const d = datatypeByConfigEnum(o.dataType);
      if (d) this.outputTypes.set(o.name, d.name);
    }
    this.outputOrder = config.output.map((o) => o.name);
    this.inputOrder = config.input.map((i) => i.name);
    this.batching = config.maxBatchSize > 0;
    this.inFlight = new Array<number>(runner.replicaCount).fill(0);
    this.gate = new InOrderGate(policy.preserveOrdering);
    this.batcher = new DynamicBatcher<Pending>(policy, clock, runner.replicaCount, {
      dispatch: (batch) => this.execute(batch),
      reject: (queued, err) => this.settle(queued.payload, err),
    });
  }

  infer(request: InferenceRequest): Promise<InferenceResult> {
    return new Promise<InferenceResult>((resolve, reject) => {
      const pending: Pending = { request, ticket: this.gate.take(), resolve, reject };
      let queued: QueuedRequest<Pending>;
      try {
        queued = this.batcher.submit({
          rows: this.batching ? request.batchSize : 1,
          shapeKey: this.shapeKey(request),
          priority: request.priority,
          timeoutUs: request.timeoutUs,
          deadlineAtMs: request.deadlineAtMs,
          payload: pending,
        });
      } catch (err) {
        this.settle(pending, err);
        return;
      }
      request.signal?.addEventListener(
        'abort',
        () => {
          if (this.batcher.cancel(queued)) this.settle(pending, new ServeError(Code.CANCELLED, 'the call was cancelled while queued; not executed'));
        },
        { once: true },
      );
    });
  }

  /** Stops taking requests, rejects what is queued, waits for running batches, ends the replicas. */
  async close(): Promise<void> {
    this.batcher.close(`model '${this.runner.modelName}' version ${this.version} is unloading`);
    if (this.running > 0) await new Promise<void>((r) => (this.drained = r));
    await this.runner.close();
  }

  /** Requests batch together when their inputs agree in everything but the batch dimension. */
  private shapeKey(r: InferenceRequest): string {
    const skip = this.batching ? 1 : 0;
    return r.inputs
      .map((t) => `${t.name}:${t.datatype}:${t.shape.slice(skip).join('x')}`)
      .sort()
      .join('|');
  }

  private settle(p: Pending, outcome: InferenceResult | unknown, ok = false): void {
    this.gate.leave(p.ticket, () => (ok ? p.resolve(outcome as InferenceResult) : p.reject(outcome)));
  }

  private execute(batch: Batch<Pending>): void {
    const replica = this.picker.pick(this.inFlight);
    this.inFlight[replica]!++;
    this.running++;
    this.run(replica, batch)
      .catch((err: unknown) => {
        for (const q of batch.requests) this.settle(q.payload, err);
      })
      .finally(() => {
        this.inFlight[replica]!--;
        this.running--;
        if (this.running === 0) this.drained?.();
        this.batcher.batchFinished();
      });
  }

  private async run(replica: number, batch: Batch<Pending>): Promise<void> {
    const started = this.clock.now();
    const requests = batch.requests.map((q) => q.payload.request);
    for (const q of batch.requests) this.stats.recordQueue((started - q.enqueuedAtMs) * 1e6);

    // One contiguous buffer per input, in the model's input order, transferred to the worker.
    const inputs: WireTensor[] = [];
    for (const name of this.inputOrder) {
      const parts = requests.map((r) => r.inputs.find((t) => t.name === name)).filter((t): t is Tensor => t !== undefined);
      if (parts.length === 0) continue;
      const joined = requests.length === 1 ? { ...parts[0]!, data: ownedCopy(parts[0]!.data) } : concatRows(parts);
      inputs.push({ name, ortType: datatypeByName(joined.datatype)!.ortType, shape: joined.shape, data: joined.data.buffer as ArrayBuffer });
    }
    const wanted = new Set(requests.flatMap((r) => r.outputs));
    const outputNames = this.outputOrder.filter((o) => wanted.has(o));
    const assembled = this.clock.now();

    const result = await this.runner.run(replica, inputs, outputNames);
    const returned = this.clock.now();
    const t = result.timings;
    const workerNs = t.computeInputNs + t.computeInferNs + t.computeOutputNs;
    // Assembly and the thread hop count as input time, as Triton counts copies to the device.
    const hopNs = Math.max(0, (returned - assembled) * 1e6 - workerNs);
    const outputs = new Map<string, RowsTensor>();
    for (const o of result.outputs) {
      const datatype = this.outputTypes.get(o.name);
      if (!datatype) throw new ServeError(Code.INTERNAL, `model '${this.runner.modelName}' produced output '${o.name}', which its config does not list`);
      outputs.set(o.name, { datatype, shape: o.shape, data: new Uint8Array(o.data) });
    }
    const rows = requests.map((r) => (this.batching ? r.batchSize : 1));
    const perRequest = new Map<string, RowsTensor[]>();
    for (const [name, tensor] of outputs) {
      perRequest.set(name, requests.length === 1 ? [tensor] : splitRows(tensor, rows));
    }
    const finished = this.clock.now();
    this.stats.recordExecution(this.batching ? batch.rows : 1, requests.length, {
      computeInputNs: (assembled - started) * 1e6 + hopNs / 2 + t.computeInputNs,
      computeInferNs: t.computeInferNs,
      computeOutputNs: t.computeOutputNs + hopNs / 2 + (finished - returned) * 1e6,
    });
    batch.requests.forEach((q, i) => {
      const r = q.payload.request;
      const out: Tensor[] = r.outputs.map((name) => {
        const v = perRequest.get(name)![i]!;
        return { name, datatype: v.datatype, shape: v.shape, data: v.data };
      });
      this.settle(q.payload, { outputs: out }, true);
    });
  }
}
