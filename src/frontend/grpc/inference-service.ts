// GRPCInferenceService over the request core: each RPC takes its message, the caller the
// access check admitted and the call's deadline and cancellation, calls core/, and hands
// back the answer; status mapping is status.ts's. ModelStreamInfer's flow control is here,
// since it is a property of the gRPC stream.

import type { Deadline, ServerDuplexStream } from '@grpc/grpc-js';
import type { GRPCInferenceServiceServer, ModelInferRequest, ModelStreamInferResponse } from '../../generated/inference/grpc_service.js';
import { CallCancellation } from '../../core/cancellation.js';
import type { InferCall, InferenceCore } from '../../core/inference-core.js';
import type { Limits } from '../../limits.js';
import type { Logger } from '../../log.js';
import { accessRefusal, callerOf } from './access-interceptor.js';
import { resetOf, whenAnswered } from './answer-interceptor.js';
import { decodeFailure } from './safe-decoding.js';
import { errorText, unary } from './status.js';
import { invalid } from '../../errors.js';

export function createInferenceService(core: InferenceCore, limits: Limits, log: Logger, now: () => number): GRPCInferenceServiceServer {
  const notYet = (what: string) => () => core.notImplemented(what);
  const inferCall = (req: object, deadline: Deadline, cancel: CallCancellation, source: string): InferCall => ({
    caller: callerOf(req),
    deadlineAtMs: monotonicDeadline(deadline, now()),
    cancel,
    source,
  });

  return {
    serverLive: unary('ServerLive', log, () => ({ live: core.serverLive() })),
    serverReady: unary('ServerReady', log, () => ({ ready: core.serverReady() })),
    modelReady: unary('ModelReady', log, (req) => ({ ready: core.modelReady(req.name, req.version) })),
    serverMetadata: unary('ServerMetadata', log, () => core.serverMetadata()),
    modelMetadata: unary('ModelMetadata', log, (req) => core.modelMetadata(req.name, req.version)),
    modelConfig: unary('ModelConfig', log, (req) => core.modelConfig(req.name, req.version)),
    modelInfer: unary('ModelInfer', log, async (req, call) => {
      const cancel = new CallCancellation();
      call.once('cancelled', () => cancel.fire());
      const res = await core.infer(req, inferCall(req, call.getDeadline(), cancel, call.getPeer()));
      whenAnswered(req, core.holdAnswer(answerBytes(res)));
      return res;
    }),
    modelStreamInfer: (call) => streamInfer(core, call, limits, log, inferCall),
    modelStatistics: unary('ModelStatistics', log, async (req) => ({ modelStats: await core.statistics(req.name, req.version, callerOf(req)) })),
    repositoryIndex: unary('RepositoryIndex', log, (req) => ({ models: core.control.index(req.ready, callerOf(req)) })),
    repositoryModelLoad: unary('RepositoryModelLoad', log, async (req) => {
      await core.control.load(req.modelName, req.parameters, callerOf(req));
      return {};
    }),
    repositoryModelUnload: unary('RepositoryModelUnload', log, async (req) => {
      await core.control.unload(req.modelName, callerOf(req));
      return {};
    }),
    systemSharedMemoryStatus: unary('SystemSharedMemoryStatus', log, (req) => ({
      regions: Object.fromEntries(
        core.sharedMemoryStatus(req.name).map((r) => [r.name, { name: r.name, key: r.key, offset: BigInt(r.offset), byteSize: BigInt(r.byteSize) }]),
      ),
    })),
    systemSharedMemoryRegister: unary('SystemSharedMemoryRegister', log, async (req) => {
      await core.registerSharedMemory(req.name, req.key, safeNumber(req.offset, 'offset'), safeNumber(req.byteSize, 'byte_size'));
      return {};
    }),
    systemSharedMemoryUnregister: unary('SystemSharedMemoryUnregister', log, async (req) => {
      await core.unregisterSharedMemory(req.name);
      return {};
    }),
    cudaSharedMemoryStatus: unary('CudaSharedMemoryStatus', log, notYet('CUDA shared memory (CudaSharedMemoryStatus)')),
    cudaSharedMemoryRegister: unary('CudaSharedMemoryRegister', log, notYet('CUDA shared memory (CudaSharedMemoryRegister)')),
    cudaSharedMemoryUnregister: unary('CudaSharedMemoryUnregister', log, notYet('CUDA shared memory (CudaSharedMemoryUnregister)')),
    traceSetting: unary('TraceSetting', log, notYet('Tracing (TraceSetting)')),
    logSettings: unary('LogSettings', log, notYet('Changing log settings at run time (LogSettings)')),
  };
}

/** The tensor bytes an answer carries. */
function answerBytes(res: { rawOutputContents: Buffer[] } | undefined): number {
  let n = 0;
  for (const b of res?.rawOutputContents ?? []) n += b.byteLength;
  return n;
}

function safeNumber(v: bigint, field: string): number {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${field} must be in 0..2^53-1, got ${v}`);
  return Number(v);
}

/**
 * At most streamMaxInFlight requests of a stream are served or waiting to be sent at once,
 * and no more are read while the client is not reading responses: pausing the stream stops
 * grpc-js reading, and HTTP/2 flow control then holds the client. Cancelling the stream
 * cancels every request of it still queued. An undecodable message, or one the access check refused, is answered
 * in-band and the stream goes on.
 */
function streamInfer(
  core: InferenceCore,
  call: ServerDuplexStream<ModelInferRequest, ModelStreamInferResponse>,
  limits: Limits,
  log: Logger,
  inferCall: (req: object, deadline: Deadline, cancel: CallCancellation, source: string) => InferCall,
): void {
  const maxInFlight = limits.streamMaxInFlight;
  let pending = 0;
  let ended = false;
  let blockedOnWrite = false;
  const cancel = new CallCancellation();
  // Answers handed to write() and not yet sent: grpc-js drops their callbacks on cancel.
  const unsent = new Set<() => void>();
  call.once('cancelled', () => {
    cancel.fire();
    for (const sent of [...unsent]) sent();
  });
  const peer = call.getPeer();
  const stalled = (req: ModelInferRequest): void => {
    const reset = resetOf(req);
    log.warn(
      reset
        ? `resetting a stream with an answer unsent ${limits.answerStallTimeoutMs} ms after it was computed (--answer-stall-timeout)`
        : 'an answer is unsent past --answer-stall-timeout, but this grpc-js gives no way to reset its stream (its internals changed)',
    );
    reset?.();
  };
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
    const refused = decodeFailure(req) ?? accessRefusal(req);
    (refused ? Promise.reject(refused) : core.infer(req, inferCall(req, call.getDeadline(), cancel, peer)))
      .then(
        (res): ModelStreamInferResponse => ({ errorMessage: '', inferResponse: res }),
        (err: unknown): ModelStreamInferResponse => ({
          errorMessage: errorText(err, log, 'ModelStreamInfer'),
          inferResponse: { modelName: req.modelName, modelVersion: req.modelVersion, id: req.id, parameters: {}, outputs: [], rawOutputContents: [] },
        }),
      )
      .then(
        (msg) =>
          new Promise<void>((resolve) => {
            if (call.cancelled || !call.writable) return resolve();
            // A request counts against the stream's in-flight limit, and its answer's bytes
            // against --max-queued-bytes, until the answer is sent: a client that stops
            // reading stops the stream at the limit.
            const release = core.holdAnswer(answerBytes(msg.inferResponse));
            // An answer not sent within --answer-stall-timeout of being computed resets the
            // stream: a client reading one answer now and then must not keep the rest held.
            const stall = limits.answerStallTimeoutMs > 0 ? setTimeout(() => stalled(req), limits.answerStallTimeoutMs) : undefined;
            const sent = (): void => {
              if (!unsent.delete(sent)) return;
              clearTimeout(stall);
              release();
              resolve();
            };
            unsent.add(sent);
            if (!call.write(msg, sent)) blockedOnWrite = true;
          }),
      )
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
}

/** A gRPC deadline (epoch ms, Date, or Infinity) as monotonic ms on the server's clock. */
function monotonicDeadline(deadline: Deadline, nowMonotonicMs: number): number | undefined {
  const epochMs = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(epochMs)) return undefined;
  return nowMonotonicMs + (epochMs - Date.now());
}
