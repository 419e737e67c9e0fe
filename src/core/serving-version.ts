// A ready model version: requests go through the version's dynamic batcher, batches run
// on the version's replicas, outputs are split back per request. Owns the batcher and
// the runner; close() drains both.

import { Admission } from './admission.js';
import type { Clock } from '../clock.js';
import type { ModelConfig } from '../generated/inference/model_config.js';
import { DynamicBatcher, type Batch, type QueuedRequest } from '../batching/dynamic-batcher.js';
import { DEADLINE_MARGIN_MS } from '../batching/queue-wait.js';
import { bucketRows } from '../batching/buckets.js';
import { InOrderGate } from '../batching/in-order.js';
import type { ModelRunner } from '../execution/model-runner.js';
import type { RunResult, WireTensor } from '../execution/protocol.js';
import { ModelStats } from '../metrics/model-stats.js';
import type { ServingVersion } from '../model/registry.js';
import type { ServingOptions } from '../repository/serving-factory.js';
import type { InferenceRequest, InferenceResult, Tensor } from '../model/types.js';
import { Code, ServeError, cancelled, everyReplicaOpen } from '../errors.js';
import type { Logger } from '../log.js';
import { createPicker } from '../scheduling/policies.js';
import { ReplicaSet } from '../scheduling/replica-set.js';
import { concatRows, splitRows, type RowsTensor } from '../tensor/batch.js';
import { ownedCopy } from '../tensor/codec.js';
import { datatypeByConfigEnum, datatypeByName, type Datatype } from '../tensor/datatype.js';

/**
 * Bytes that can be moved to a worker as they are: a view that spans its whole
 * ArrayBuffer (typed contents and JSON data decode into one; Buffer.alloc never takes
 * from Node's shared pool, and a pooled Buffer never spans the whole pool), so no other
 * tensor shares the buffer it detaches; nothing reads a submitted request's inputs again
 * (Tensor.data in model/types.ts). Raw contents are views into the gRPC message or the
 * HTTP body, shared with the other inputs, so they are copied once here.
 */
function transferable(data: Uint8Array): Uint8Array {
  const owns = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  return owns ? data : ownedCopy(data);
}

interface Pending {
  request: InferenceRequest;
  ticket: number;
  resolve(result: InferenceResult): void;
  reject(err: unknown): void;
  /** Stops listening for the caller's cancellation once the request is settled. */
  stopListening?: (() => void) | undefined;
}

export class BatchingServingVersion implements ServingVersion {
  /** Overload shedding's accounting: rows admitted and not yet queued or answered, by source. */
  private readonly admission = new Admission();
  readonly stats: ModelStats;
  private readonly outputTypes = new Map<string, Datatype>();
  private readonly outputOrder: string[];
  private readonly inputOrder: string[];
  private readonly batching: boolean;
  /** max_batch_size when batches are padded to buckets, else 0. */
  private readonly padToBucketsOf: number;
  private readonly batcher: DynamicBatcher<Pending>;
  private readonly gate: InOrderGate;
  private readonly replicaSet: ReplicaSet;
  /** Requests in batches that a replica is running. */
  private runningRequests = 0;
  private drained: (() => void) | undefined;

  constructor(
    readonly version: number,
    private readonly runner: ModelRunner,
    config: ModelConfig,
    private readonly opts: ServingOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    const model = runner.modelName;
    this.stats = opts.stats ?? new ModelStats(opts.observer);
    for (const o of config.output) {
      const d = datatypeByConfigEnum(o.dataType);
      if (d) this.outputTypes.set(o.name, d.name);
    }
    this.outputOrder = config.output.map((o) => o.name);
    this.inputOrder = config.input.map((i) => i.name);
    this.batching = config.maxBatchSize > 0;
    const pad = opts.padBatches ?? 'auto';
    const onGpu = runner.devices.some((d) => d.startsWith('gpu'));
    this.padToBucketsOf = this.batching && (pad === 'on' || (pad === 'auto' && onGpu)) ? config.maxBatchSize : 0;
    this.gate = new InOrderGate(opts.policy.preserveOrdering);
    this.replicaSet = new ReplicaSet(model, runner, opts.replicas, createPicker(opts.replicaPolicy), opts.breaker, {
      breakerChanged: (replica, state, allOpen) => {
        const line = `model '${model}' version ${version}: replica ${replica} circuit breaker ${state}`;
        if (state === 'open') log.warn(line, { model, version, replica, breaker: state, allOpen });
        else log.info(line, { model, version, replica, breaker: state });
        if (allOpen) this.batcher.rejectAll(this.allOpenError());
        this.batcher.wake();
      },
      roomChanged: () => this.batcher.wake(),
    });
    this.batcher = new DynamicBatcher<Pending>(
      opts.policy,
      clock,
      {
        hasRoom: () => this.replicaSet.hasRoom(),
        dispatch: (batch) => this.execute(batch),
        reject: (queued, err) => {
          this.settle(queued.payload, err);
          this.notifyDrain();
        },
      },
      DEADLINE_MARGIN_MS,
    );
  }

  /** Wakes close() to look at the queue again. */
  private notifyDrain(): void {
    const drained = this.drained;
    this.drained = undefined;
    drained?.();
  }

  /** Breaker state and batches run per replica. */
  replicaStates() {
    return this.replicaSet.states();
  }

  private allOpenError(): ServeError {
    return everyReplicaOpen(this.runner.modelName);
  }

  admit(request: InferenceRequest, source: string): void {
    const draining = this.batcher.draining;
    if (draining !== undefined) throw new ServeError(Code.UNAVAILABLE, draining);
    const overload = this.batcher.overload(request.priority, this.admission.upstreamRows, request.deadlineAtMs);
    this.admission.admit(request, this.rowsOf(request), source, overload);
  }

  abandon(request: InferenceRequest): void {
    this.admission.done(request);
    this.notifyDrain();
  }

  private rowsOf(request: InferenceRequest): number {
    return this.batching ? Math.max(1, request.batchSize) : 1;
  }

  infer(request: InferenceRequest): Promise<InferenceResult> {
    const admitted = this.admission.queued(request);
    let served: Promise<InferenceResult>;
    try {
      served = this.serve(request, admitted);
    } catch (err) {
      served = Promise.reject(err); // e.g. a malformed test fault: the rows must still be given back
    }
    return served.finally(() => {
      this.admission.done(request);
      this.notifyDrain();
    });
  }

  /** `admitted`: let in by admit() before a drain began, so served while the version drains. */
  private serve(request: InferenceRequest, admitted: boolean): Promise<InferenceResult> {
    if (this.replicaSet.allOpen()) return Promise.reject(this.allOpenError());
    if (this.opts.testFaults && request.testFault?.startsWith('fail-replica:')) {
      // fail-replica:<index>:<runs> arms the fault switch; the request itself runs normally.
      const [, index, runs] = request.testFault.split(':');
      this.runner.failNext(Number(index), Number(runs));
    }
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
          arrivedAtMs: request.receivedAtMs,
          admitted,
          payload: pending,
        });
      } catch (err) {
        this.settle(pending, err);
        return;
      }
      pending.stopListening = request.cancel?.onCancel(() => {
        if (this.batcher.cancel(queued)) {
          this.settle(pending, cancelled('the call was cancelled while queued'));
          this.notifyDrain();
        }
      });
    });
  }

  /**
   * Refuses new requests, serves every queued and running one, and those admitted and still
   * waiting at the frontend's gate (a reload or unload never drops a request), then ends
   * the replicas.
   */
  async close(): Promise<void> {
    const name = `model '${this.runner.modelName}' version ${this.version}`;
    this.batcher.stopAccepting(`${name} is unloading`);
    while (this.runningRequests > 0 || this.batcher.queuedRequests > 0 || this.admission.upstreamRows > 0) {
      await new Promise<void>((r) => (this.drained = r));
    }
    this.batcher.close(`${name} is unloading`);
    await this.runner.close();
    this.replicaSet.shutdown();
  }

  get maxQueueWaitMs(): number {
    return this.opts.policy.maxQueueWaitMs;
  }

  /** Requests queued or running (nv_inference_pending_request_count). */
  get pendingRequests(): number {
    return this.batcher.queuedRequests + this.runningRequests;
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
    p.stopListening?.();
    this.gate.leave(p.ticket, () => (ok ? p.resolve(outcome as InferenceResult) : p.reject(outcome)));
  }

  /** Assembles the batch and hands it to a replica, synchronously (the batcher needs the room taken). */
  private execute(batch: Batch<Pending>): void {
    this.runningRequests += batch.requests.length;
    const started = this.clock.now();
    const requests = batch.requests.map((q) => q.payload.request);
    for (const q of batch.requests) this.stats.recordQueue((started - q.enqueuedAtMs) * 1e6);
    let run: { replica: string; done: Promise<RunResult> };
    let assembled = started;
    let padded = false;
    try {
      const prepared = this.assemble(requests, batch.rows);
      padded = prepared.padded;
      assembled = this.clock.now();
      const fault = this.opts.testFaults ? requests.map((r) => r.testFault).find((f) => f && !f.startsWith('fail-replica:')) : undefined;
      run = this.replicaSet.run(batch.rows, prepared.inputs, prepared.outputNames, fault);
    } catch (err) {
      run = { replica: '', done: Promise.reject(err) };
    }
    run.done
      .then((result) => {
        this.log.verbose('batch executed', {
          model: this.runner.modelName,
          version: this.version,
          replica: run.replica,
          rows: batch.rows,
          requests: requests.length,
        });
        this.finish(batch, requests, result, started, assembled, padded);
      })
      .catch((err: unknown) => {
        for (const q of batch.requests) this.settle(q.payload, err);
      })
      .finally(() => {
        this.runningRequests -= requests.length;
        this.notifyDrain();
      });
  }

  private assemble(requests: InferenceRequest[], rows: number): { inputs: WireTensor[]; outputNames: string[]; padded: boolean } {
    // One contiguous buffer per input, in the model's input order, transferred to the worker;
    // padded with zero rows up to the bucket size when batches are padded.
    const target = this.padToBucketsOf > 0 ? bucketRows(rows, this.padToBucketsOf) : rows;
    const padded = target > rows;
    const inputs: WireTensor[] = [];
    for (const name of this.inputOrder) {
      const parts = requests.map((r) => r.inputs.find((t) => t.name === name)).filter((t): t is Tensor => t !== undefined);
      if (parts.length === 0) continue;
      const joined = requests.length === 1 && !padded ? { ...parts[0]!, data: transferable(parts[0]!.data) } : concatRows(parts, target);
      inputs.push({ name, ortType: datatypeByName(joined.datatype)!.ortType, shape: joined.shape, data: joined.data.buffer as ArrayBuffer });
    }
    const wanted = new Set(requests.flatMap((r) => r.outputs));
    return { inputs, outputNames: this.outputOrder.filter((o) => wanted.has(o)), padded };
  }

  private finish(batch: Batch<Pending>, requests: InferenceRequest[], result: RunResult, started: number, assembled: number, padded: boolean): void {
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
    // Queued rows are the requests' batch sizes (1 each for a model that does not batch).
    const rows = batch.requests.map((q) => q.rows);
    const perRequest = new Map<string, RowsTensor[]>();
    for (const [name, tensor] of outputs) {
      // Padding rows, if any, are past the last request's rows and are left out.
      perRequest.set(name, requests.length === 1 && !padded ? [tensor] : splitRows(tensor, rows));
    }
    const finished = this.clock.now();
    this.batcher.executed(batch, returned - started);
    this.stats.recordExecution(batch.rows, requests.length, {
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
