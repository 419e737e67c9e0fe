// The transport-neutral request core that every frontend calls: health, metadata, config,
// inference, statistics and (through ModelControl) the repository. It speaks the KServe v2
// messages (the generated types are plain data, no transport), throws ServeError, and
// never sees a socket: frontends translate wire formats, statuses and who the caller is.

import type {
  ModelConfigResponse,
  ModelInferRequest,
  ModelInferResponse,
  ModelMetadataResponse,
  ModelStatistics,
  ServerMetadataResponse,
} from '../generated/inference/grpc_service.js';
import { Code, ServeError, deadlineAtGate, gateWaitTooLong, modelNotFound, notImplemented, notLoaded } from '../errors.js';
import { checkVersion, type ModelEntry } from '../model/registry.js';
import type { Cancellation } from '../model/types.js';
import { DEADLINE_MARGIN_MS } from '../batching/queue-wait.js';
import { checkModelName } from '../model/model-name.js';
import { datatypeByConfigEnum } from '../tensor/datatype.js';
import { LIMITS, type Limits } from '../limits.js';
import type { Principal } from '../security/access-control.js';
import { whoOf } from '../security/audit-log.js';
import { ByteBudget } from './byte-budget.js';
import type { CallCancellation } from './cancellation.js';
import type { ServiceContext } from './context.js';
import { decodeInferRequest } from './decode-request.js';
import { namesRegion } from './request-parameters.js';
import type { RegionStatus } from '../shm/system-shared-memory.js';
import { mergeStatistics } from './statistics.js';
import { writeSharedMemoryOutputs } from './encode-response.js';
import { encodeInferResponse } from './encode-response.js';
import { FairGate } from './fair-gate.js';
import { ModelControl } from './model-control.js';
import { failureReason } from './statistics.js';

/** What a frontend knows about one inference call. */
export interface InferCall {
  /** Who the access check admitted (undefined without access control). */
  caller: Principal | undefined;
  /** Deadline on the server's monotonic clock, if the client set one. */
  deadlineAtMs: number | undefined;
  cancel: CallCancellation;
  /** The client connection, for fair admission across connections. */
  source: string;
}

export class InferenceCore {
  readonly control: ModelControl;
  private readonly budget: ByteBudget;
  private readonly gate: FairGate;
  private readonly gateLimit: number;
  private readonly maxBytesElements: number;

  constructor(
    private readonly ctx: ServiceContext,
    limits: Limits,
  ) {
    this.control = new ModelControl(ctx);
    this.budget = new ByteBudget(limits.maxQueuedBytes, `--${LIMITS.maxQueuedBytes.flag}`);
    this.maxBytesElements = limits.maxBytesElements;
    this.gate = new FairGate(limits.maxInflightRequests);
    this.gateLimit = limits.maxInflightRequests;
  }

  serverLive(): boolean {
    return this.ctx.isLive();
  }

  serverReady(): boolean {
    return this.ctx.isReady();
  }

  modelReady(name: string, version: string): boolean {
    checkModelName(name);
    checkVersion(name, version);
    return this.ctx.isLive() && this.ctx.registry.isReady(name, version);
  }

  /** Whether the repository or the registry knows a model of this name. */
  modelKnown(name: string): boolean {
    checkModelName(name);
    return this.ctx.registry.known(name) !== undefined || this.ctx.repository.modelNames().includes(name);
  }

  serverMetadata(): ServerMetadataResponse {
    return { name: this.ctx.serverName, version: this.ctx.serverVersion, extensions: [...this.ctx.extensions] };
  }

  modelMetadata(name: string, version: string): ModelMetadataResponse {
    const r = this.resolve(name, version);
    const batch = r.config.maxBatchSize > 0;
    const tensor = (t: { name: string; dataType: number; dims: number[] }) => ({
      name: t.name,
      datatype: datatypeByConfigEnum(t.dataType)?.name ?? 'INVALID',
      shape: (batch ? [-1, ...t.dims] : [...t.dims]).map(BigInt),
    });
    return {
      name: r.model.name,
      versions: readyVersions(r.model).map(String),
      platform: r.config.platform,
      inputs: r.config.input.map(tensor),
      outputs: r.config.output.map(tensor),
    };
  }

  modelConfig(name: string, version: string): ModelConfigResponse {
    checkModelName(name);
    const { registry } = this.ctx;
    const entry = registry.known(name);
    if (!entry) throw modelNotFound(name);
    if (version !== '') registry.resolve(name, version);
    if (!entry.config) throw new ServeError(Code.UNAVAILABLE, `model '${name}' has no loaded config${entry.reason ? `: ${entry.reason}` : ''}`);
    return { config: entry.config };
  }

  /** One inference call, from any frontend; sampled calls go to the audit trail. */
  infer(req: ModelInferRequest, call: InferCall): Promise<ModelInferResponse> {
    const work = this.run(req, call);
    const { security } = this.ctx;
    if (!security.audit || !security.sampleInfer()) return work;
    const record = (outcome: string): void =>
      security.audit?.record({
        event: 'infer',
        who: whoOf(call.caller),
        model: req.modelName,
        version: req.modelVersion,
        outcome,
        ...(req.id ? { request_id: req.id } : {}),
      });
    return work.then(
      (res) => {
        record('ok');
        return res;
      },
      (err: unknown) => {
        const code = err instanceof ServeError ? err.code : Code.INTERNAL;
        record(Object.keys(Code).find((k) => Code[k as keyof typeof Code] === code) ?? 'UNKNOWN');
        throw err;
      },
    );
  }

  /**
   * An answer's bytes from when the frontend has it until its client has read it (the
   * frontend calls the release, once, when the answer is sent or the call is gone): they
   * count against --max-queued-bytes, so answers clients do not read cannot grow memory.
   */
  holdAnswer(bytes: number): () => void {
    return this.budget.hold(bytes);
  }

  /** ModelStatistics over every server process; with name '' every model the caller may see. */
  async statistics(name: string, version: string, caller: Principal | undefined): Promise<ModelStatistics[]> {
    const merged = mergeStatistics(await this.ctx.cluster.everywhere('stats', { name, version }));
    const { security } = this.ctx;
    return name === '' ? merged.filter((s) => security.access.canSee(caller, 'statistics', s.name)) : merged;
  }

  /** Triton's system shared memory. Registering and unregistering reach every server process. */
  async registerSharedMemory(name: string, key: string, offset: number, byteSize: number): Promise<void> {
    await this.ctx.cluster.everywhere('shmRegister', { name, key, offset, byteSize });
  }

  async unregisterSharedMemory(name: string): Promise<void> {
    await this.ctx.cluster.everywhere('shmUnregister', { name });
  }

  sharedMemoryStatus(name: string): RegionStatus[] {
    return this.ctx.sharedMemory.status(name);
  }

  /** For the protocol's routes this server does not serve yet. */
  notImplemented(what: string): never {
    throw notImplemented(what);
  }

  /** Like registry.resolve, but a model that is in the repository and not loaded is UNAVAILABLE. */
  private resolve(name: string, version: string) {
    checkModelName(name);
    const { registry } = this.ctx;
    try {
      return registry.resolve(name, version);
    } catch (err) {
      if (
        err instanceof ServeError &&
        err.code === Code.NOT_FOUND &&
        this.ctx.controlMode === 'explicit' &&
        !registry.entry(name) &&
        this.ctx.repository.modelNames().includes(name)
      ) {
        throw notLoaded(name);
      }
      throw err;
    }
  }

  /**
   * Waits for a slot under --max-inflight-requests. The slots are shared by every model, so
   * one stalled model can hold them all: a request waits at most its model's queue wait
   * limit for one (0: no limit, as in Triton), then is refused instead of hanging behind a
   * model it does not use; and never past its deadline (less the margin), so its client
   * need not cancel.
   */
  private async waitAtGate(call: InferCall, limitMs: number): Promise<void> {
    const untilDeadline = call.deadlineAtMs === undefined ? Infinity : call.deadlineAtMs - this.ctx.clock.now() - DEADLINE_MARGIN_MS;
    const waitMs = Math.min(limitMs > 0 ? limitMs : Infinity, untilDeadline);
    if (waitMs === Infinity) return this.gate.acquire(call.source, call.cancel);
    let timedOut = false;
    let onTimeout: (() => void) | undefined;
    const timer = setTimeout(
      () => {
        timedOut = true;
        onTimeout?.();
      },
      Math.max(0, waitMs),
    );
    // Gives up on either the caller's cancel or the timer (the gate listens once, and stops).
    const either: Cancellation = {
      onCancel: (listener) => {
        onTimeout = listener;
        const stop = call.cancel.onCancel(listener);
        return () => {
          onTimeout = undefined;
          stop();
        };
      },
    };
    try {
      await this.gate.acquire(call.source, either);
    } catch (err) {
      if (!timedOut) throw err;
      throw waitMs === untilDeadline ? deadlineAtGate(Math.max(0, Math.round(waitMs))) : gateWaitTooLong(limitMs, this.gateLimit);
    } finally {
      clearTimeout(timer);
    }
  }

  private async run(req: ModelInferRequest, call: InferCall): Promise<ModelInferResponse> {
    const { clock } = this.ctx;
    const received = clock.now();
    const resolved = this.resolve(req.modelName, req.modelVersion);
    const stats = resolved.serving.stats;
    try {
      // Naming a region reads or writes memory other clients registered: that takes the shared-memory grant too.
      if (usesSharedMemory(req)) this.ctx.security.access.requireCategory(call.caller, 'shared-memory', 'ModelInfer with shared memory');
      const timing = {
        receivedAtMs: received,
        deadlineAtMs: call.deadlineAtMs,
        cancel: call.cancel,
        testFaults: this.ctx.testFaults,
        shm: this.ctx.sharedMemory,
        // What the budget has left now, so requests while it is full are refused before they read.
        shmMaxBytes: this.budget.availableBytes,
        maxBytesElements: this.maxBytesElements,
      };
      const request = decodeInferRequest(req, resolved.config, resolved.version.version, timing);
      let response: ModelInferResponse;
      try {
        // An overloaded model refuses here, before the request holds bytes or waits at the gate
        // (inside this try: a refused request still gives back its shared-memory leases).
        resolved.serving.admit(request, call.source);
        let bytes = 0;
        for (const t of request.inputs) bytes += t.data.byteLength;
        let result;
        try {
          this.budget.take(bytes);
          try {
            if (!this.gate.tryAcquire()) await this.waitAtGate(call, resolved.serving.maxQueueWaitMs);
            try {
              this.budget.checkNotOverdrawn();
              result = await resolved.serving.infer(request);
            } finally {
              this.gate.release();
            }
          } finally {
            this.budget.release(bytes);
          }
        } finally {
          // Refused or cancelled before it reached the queue: no longer ahead of anyone
          // (after infer() it already gave its rows back, and this does nothing).
          resolved.serving.abandon(request);
        }
        writeSharedMemoryOutputs(request, result);
        response = encodeInferResponse(request, result);
      } finally {
        for (const l of request.sharedMemory?.leases ?? []) l.release();
      }
      stats.recordSuccess((clock.now() - received) * 1e6, Date.now());
      return response;
    } catch (err) {
      stats.recordFailure((clock.now() - received) * 1e6, Date.now(), failureReason(err));
      throw err;
    }
  }
}

function usesSharedMemory(req: ModelInferRequest): boolean {
  return req.inputs.some((t) => namesRegion(t.parameters)) || req.outputs.some((o) => namesRegion(o.parameters));
}

function readyVersions(m: ModelEntry): number[] {
  return [...m.versions.values()]
    .filter((v) => v.state === 'READY')
    .map((v) => v.version)
    .sort((a, b) => a - b);
}
