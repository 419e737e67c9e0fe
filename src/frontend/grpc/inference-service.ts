// GRPCInferenceService: every RPC of the KServe v2 / Triton protocol. Handlers decode,
// call into the registry and repository, and encode; status mapping is in status.ts.

import type { Deadline, ServerDuplexStream } from '@grpc/grpc-js';
import type {
  GRPCInferenceServiceServer,
  ModelInferRequest,
  ModelInferResponse,
  ModelStatistics,
  ModelStreamInferResponse,
  RepositoryIndexResponse_ModelIndex,
  StatisticDuration,
} from '../../generated/inference/grpc_service.js';
import { Code, ServeError, invalid, notFound } from '../../errors.js';
import type { ModelEntry } from '../../model/registry.js';
import type { Duration, FailureReason, ModelStats } from '../../metrics/model-stats.js';
import { datatypeByConfigEnum } from '../../tensor/datatype.js';
import type { LoadOverride } from '../../repository/load-override.js';
import type { ServiceContext } from '../../core/context.js';
import { CallCancellation } from '../../core/cancellation.js';
import { decodeInferRequest } from '../../core/decode-request.js';
import { encodeInferResponse } from '../../core/encode-response.js';
import { errorText, unary } from './status.js';
import { decodeFailure } from './safe-decoding.js';
import { checkModelName } from '../../model/model-name.js';
import { redactPaths } from '../../redact.js';
import { LIMITS, type Limits } from '../../limits.js';
import { ByteBudget } from '../../core/byte-budget.js';
import { FairGate } from '../../core/fair-gate.js';
import { accessRefusal, callerOf } from './access-interceptor.js';
import { whoOf } from '../../security/audit-log.js';
import { modelAuditFields } from '../../security/model-audit.js';

export function createInferenceService(ctx: ServiceContext, limits: Limits): GRPCInferenceServiceServer {
  const { registry, log, security } = ctx;
  const canSee = (req: object, category: 'statistics' | 'model-repository', model: string): boolean =>
    security.access.canSee(callerOf(req), category, model);

  /** Sampled inference calls go to the audit trail (--audit-log-infer-sample-rate). */
  function audited(req: ModelInferRequest, work: Promise<ModelInferResponse>): Promise<ModelInferResponse> {
    if (!security.audit || !security.sampleInfer()) return work;
    const record = (outcome: string): void => security.audit?.record({
      event: 'infer', who: whoOf(callerOf(req)), model: req.modelName, version: req.modelVersion, outcome, ...(req.id ? { request_id: req.id } : {}),
    });
    return work.then((res) => (record('ok'), res), (err: unknown) => {
      const code = err instanceof ServeError ? err.code : Code.INTERNAL;
      record(Object.keys(Code).find((k) => Code[k as keyof typeof Code] === code) ?? 'UNKNOWN');
      throw err;
    });
  }

  /** Loads and unloads requested over the network, with who asked, to the audit trail. */
  async function auditedChange(req: object, kind: 'model_load' | 'model_unload', name: string, work: Promise<void>): Promise<void> {
    try {
      await work;
      security.audit?.record({ event: kind, who: whoOf(callerOf(req)), model: name, outcome: 'ok', ...modelAuditFields(registry.entry(name)) });
    } catch (err) {
      security.audit?.record({ event: kind, who: whoOf(callerOf(req)), model: name, outcome: 'failed', reason: err instanceof Error ? err.message : String(err), ...modelAuditFields(registry.entry(name)) });
      throw err;
    }
  }
  const budget = new ByteBudget(limits.maxQueuedBytes, `--${LIMITS.maxQueuedBytes.flag}`);
  const gate = new FairGate(limits.maxInflightRequests);
  const notYet = (what: string) => () => Promise.reject(new ServeError(Code.UNIMPLEMENTED, `${what} is not implemented by this server yet`));

  /** Like registry.resolve, but a model that is in the repository and not loaded is UNAVAILABLE. */
  function resolve(name: string, version: string) {
    checkModelName(name);
    try {
      return registry.resolve(name, version);
    } catch (err) {
      if (
        err instanceof ServeError && err.code === Code.NOT_FOUND && ctx.controlMode === 'explicit' &&
        !registry.entry(name) && ctx.repository.modelNames().includes(name)
      ) {
        throw new ServeError(Code.UNAVAILABLE, `model '${name}' is in the model repository but not loaded; load it with RepositoryModelLoad`);
      }
      throw err;
    }
  }

  /** `source` names the client connection, for the fair gate. */
  async function infer(req: ModelInferRequest, deadline: Deadline, cancel: CallCancellation, source: string): Promise<ModelInferResponse> {
    const received = ctx.clock.now();
    const resolved = resolve(req.modelName, req.modelVersion);
    const stats = resolved.serving.stats;
    try {
      const call = { receivedAtMs: received, deadlineAtMs: monotonicDeadline(deadline, received), cancel, testFaults: ctx.testFaults };
      const request = decodeInferRequest(req, resolved.config, resolved.version.version, call);
      let bytes = 0;
      for (const t of request.inputs) bytes += t.data.byteLength;
      budget.take(bytes);
      let result;
      try {
        if (!gate.tryAcquire()) await gate.acquire(source, cancel);
        try {
          result = await resolved.serving.infer(request);
        } finally {
          gate.release();
        }
      } finally {
        budget.release(bytes);
      }
      const response = encodeInferResponse(request, result);
      stats.recordSuccess((ctx.clock.now() - received) * 1e6, Date.now());
      return response;
    } catch (err) {
      stats.recordFailure((ctx.clock.now() - received) * 1e6, Date.now(), failureReason(err));
      throw err;
    }
  }

  function checkControl(what: string): void {
    if (ctx.controlMode !== 'explicit') {
      throw new ServeError(
        Code.FAILED_PRECONDITION,
        `${what} needs --model-control-mode=explicit; this server runs in '${ctx.controlMode}' mode`,
      );
    }
  }

  return {
    serverLive: unary('ServerLive', log, () => ({ live: ctx.isLive() })),
    serverReady: unary('ServerReady', log, () => ({ ready: ctx.isReady() })),
    modelReady: unary('ModelReady', log, (req) => {
      checkModelName(req.name);
      if (req.version !== '' && !/^[0-9]+$/.test(req.version)) {
        throw invalid(`model '${req.name}': version '${req.version}' is not a positive integer`);
      }
      return { ready: ctx.isLive() && registry.isReady(req.name, req.version) };
    }),
    serverMetadata: unary('ServerMetadata', log, () => ({
      name: ctx.serverName,
      version: ctx.serverVersion,
      extensions: [...ctx.extensions],
    })),
    modelMetadata: unary('ModelMetadata', log, (req) => {
      const r = resolve(req.name, req.version);
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
    }),
    modelConfig: unary('ModelConfig', log, (req) => {
      checkModelName(req.name);
      const entry = registry.entry(req.name);
      if (!entry || (entry.state === undefined && entry.versions.size === 0)) {
        throw notFound(`model '${req.name}' is not in the model repository`);
      }
      if (req.version !== '') registry.resolve(req.name, req.version);
      if (!entry.config) throw new ServeError(Code.UNAVAILABLE, `model '${req.name}' has no loaded config${entry.reason ? `: ${entry.reason}` : ''}`);
      return { config: entry.config };
    }),
    modelInfer: unary('ModelInfer', log, (req, call) => {
      const cancel = new CallCancellation();
      call.once('cancelled', () => cancel.fire());
      return audited(req, infer(req, call.getDeadline(), cancel, call.getPeer()));
    }),
    modelStreamInfer: (call: ServerDuplexStream<ModelInferRequest, ModelStreamInferResponse>) => {
      // At most streamMaxInFlight requests of this stream are served at once, and no more
      // are read while the client is not reading responses: pausing the stream stops
      // grpc-js reading, and HTTP/2 flow control then holds the client.
      const maxInFlight = limits.streamMaxInFlight;
      let pending = 0;
      let ended = false;
      let blockedOnWrite = false;
      // Cancelling the stream cancels every request of it that is still queued.
      const cancel = new CallCancellation();
      call.once('cancelled', () => cancel.fire());
      const peer = call.getPeer();
      const flow = (): void => {
        if (pending >= maxInFlight || blockedOnWrite) call.pause();
        else call.resume();
      };
      const finish = (): void => {
        if (ended && pending === 0) call.end();
      };
      call.on('drain', () => {
        blockedOnWrite = false;
        flow();
      });
      call.on('data', (req: ModelInferRequest) => {
        pending++;
        flow();
        // An undecodable message, or one the access check refused, is answered in-band.
        const refused = decodeFailure(req) ?? accessRefusal(req);
        (refused ? Promise.reject(refused) : audited(req, infer(req, call.getDeadline(), cancel, peer)))
          .then(
            (res): ModelStreamInferResponse => ({ errorMessage: '', inferResponse: res }),
            (err: unknown): ModelStreamInferResponse => ({
              errorMessage: errorText(err, log, 'ModelStreamInfer'),
              inferResponse: {
                modelName: req.modelName,
                modelVersion: req.modelVersion,
                id: req.id,
                parameters: {},
                outputs: [],
                rawOutputContents: [],
              },
            }),
          )
          .then((msg) => {
            if (!call.cancelled && call.writable && !call.write(msg)) blockedOnWrite = true;
          })
          .catch((err: unknown) => log.warn('could not write a stream response', { error: String(err) }))
          .finally(() => {
            pending--;
            flow();
            finish();
          });
      });
      call.on('end', () => {
        ended = true;
        finish();
      });
      call.on('error', () => {
        ended = true;
      });
    },
    modelStatistics: unary('ModelStatistics', log, (req) => {
      let models: ModelEntry[];
      if (req.name === '') {
        models = registry.all().filter((m) => canSee(req, 'statistics', m.name));
      } else {
        checkModelName(req.name);
        const e = registry.entry(req.name);
        if (!e || (e.state === undefined && e.versions.size === 0)) throw notFound(`model '${req.name}' is not in the model repository`);
        models = [e];
      }
      if (req.version !== '' && !/^[0-9]+$/.test(req.version)) {
        throw invalid(`model '${req.name}': version '${req.version}' is not a positive integer`);
      }
      const out: ModelStatistics[] = [];
      for (const m of models) {
        for (const v of [...m.versions.values()].sort((a, b) => a.version - b.version)) {
          if (!v.stats) continue;
          if (req.version !== '' && String(v.version) !== req.version) continue;
          out.push(statsMessage(m.name, v.version, v.stats));
        }
      }
      if (req.name !== '' && req.version !== '' && out.length === 0) {
        throw notFound(`model '${req.name}' has no version ${req.version} with statistics`);
      }
      return { modelStats: out };
    }),
    repositoryIndex: unary('RepositoryIndex', log, (req) => {
      const names = new Set([...ctx.repository.modelNames(), ...registry.all().map((m) => m.name)]);
      const models: RepositoryIndexResponse_ModelIndex[] = [];
      for (const name of [...names].sort()) {
        if (!canSee(req, 'model-repository', name)) continue;
        const e = registry.entry(name);
        if (e && e.versions.size > 0) {
          for (const v of [...e.versions.values()].sort((a, b) => a.version - b.version)) {
            models.push({ name, version: String(v.version), state: v.state, reason: redactPaths(v.reason) });
          }
        } else if (e?.state) {
          models.push({ name, version: '', state: e.state, reason: redactPaths(e.reason) });
        } else {
          models.push({ name, version: '', state: '', reason: '' });
        }
      }
      return { models: req.ready ? models.filter((m) => m.state === 'READY') : models };
    }),
    repositoryModelLoad: unary('RepositoryModelLoad', log, async (req) => {
      checkControl('RepositoryModelLoad');
      checkModelName(req.modelName);
      const override: LoadOverride = {};
      // The generated decoder stores map entries on a plain object: a key "__proto__" replaces
      // its prototype instead of becoming an entry. Refuse it rather than ignore it.
      if (Object.getPrototypeOf(req.parameters) !== Object.prototype) {
        throw invalid("RepositoryModelLoad parameter '__proto__' is not a parameter this server knows");
      }
      for (const [key, value] of Object.entries(req.parameters)) {
        const c = value.parameterChoice;
        if (key === 'config' && c?.$case === 'stringParam') override.configJson = c.value;
        else if (key.startsWith('file:') && c?.$case === 'bytesParam') (override.files ??= {})[key.slice(5)] = c.value;
        else if (key === 'config' || key.startsWith('file:')) throw invalid(`RepositoryModelLoad parameter '${key}' must be a ${key === 'config' ? 'string' : 'bytes'} parameter`);
        else throw new ServeError(Code.UNIMPLEMENTED, `RepositoryModelLoad parameter '${key}' is not implemented; 'config' and 'file:<version>/<name>' are`);
      }
      try {
        await auditedChange(req, 'model_load', req.modelName, ctx.repository.load(req.modelName, override));
      } finally {
        ctx.modelsChanged();
      }
      return {};
    }),
    repositoryModelUnload: unary('RepositoryModelUnload', log, async (req) => {
      checkControl('RepositoryModelUnload');
      checkModelName(req.modelName);
      try {
        await auditedChange(req, 'model_unload', req.modelName, ctx.repository.unload(req.modelName));
      } finally {
        ctx.modelsChanged();
      }
      return {};
    }),
    systemSharedMemoryStatus: unary('SystemSharedMemoryStatus', log, notYet('System shared memory (SystemSharedMemoryStatus)')),
    systemSharedMemoryRegister: unary('SystemSharedMemoryRegister', log, notYet('System shared memory (SystemSharedMemoryRegister)')),
    systemSharedMemoryUnregister: unary('SystemSharedMemoryUnregister', log, notYet('System shared memory (SystemSharedMemoryUnregister)')),
    cudaSharedMemoryStatus: unary('CudaSharedMemoryStatus', log, notYet('CUDA shared memory (CudaSharedMemoryStatus)')),
    cudaSharedMemoryRegister: unary('CudaSharedMemoryRegister', log, notYet('CUDA shared memory (CudaSharedMemoryRegister)')),
    cudaSharedMemoryUnregister: unary('CudaSharedMemoryUnregister', log, notYet('CUDA shared memory (CudaSharedMemoryUnregister)')),
    traceSetting: unary('TraceSetting', log, notYet('Tracing (TraceSetting)')),
    logSettings: unary('LogSettings', log, notYet('Changing log settings at run time (LogSettings)')),
  };
}

/** Triton's failure reasons: the scheduler turned it away, the caller gave up, the backend failed, or else. */
function failureReason(err: unknown): FailureReason {
  const code = err instanceof ServeError ? err.code : Code.INTERNAL;
  if (code === Code.RESOURCE_EXHAUSTED || code === Code.DEADLINE_EXCEEDED || code === Code.UNAVAILABLE) return 'REJECTED';
  if (code === Code.CANCELLED) return 'CANCELED';
  if (code === Code.INTERNAL) return 'BACKEND';
  return 'OTHER';
}

/** A gRPC deadline (epoch ms, Date, or Infinity) as monotonic ms on the server's clock. */
function monotonicDeadline(deadline: Deadline, nowMonotonicMs: number): number | undefined {
  const epochMs = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(epochMs)) return undefined;
  return nowMonotonicMs + (epochMs - Date.now());
}

function readyVersions(m: ModelEntry): number[] {
  return [...m.versions.values()].filter((v) => v.state === 'READY').map((v) => v.version).sort((a, b) => a - b);
}

/** A non-negative count as uint64. */
function u64(n: number): bigint {
  return BigInt(Math.max(0, Math.trunc(n)));
}

function duration(d: Duration): StatisticDuration {
  return { count: u64(d.count), ns: u64(d.ns) };
}

function statsMessage(name: string, version: number, s: ModelStats): ModelStatistics {
  return {
    name,
    version: String(version),
    lastInference: u64(s.lastInferenceMs),
    inferenceCount: u64(s.inferenceCount),
    executionCount: u64(s.executionCount),
    inferenceStats: {
      success: duration(s.success),
      fail: duration(s.fail),
      queue: duration(s.queue),
      computeInput: duration(s.computeInput),
      computeInfer: duration(s.computeInfer),
      computeOutput: duration(s.computeOutput),
      cacheHit: { count: 0n, ns: 0n },
      cacheMiss: { count: 0n, ns: 0n },
    },
    batchStats: s.batchStats().map((b) => ({
      batchSize: u64(b.batchSize),
      computeInput: duration(b.computeInput),
      computeInfer: duration(b.computeInfer),
      computeOutput: duration(b.computeOutput),
    })),
    memoryUsage: [],
  };
}
