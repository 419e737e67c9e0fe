// The KServe v2 REST routes over the request core. Each handler reads its path parameters
// and body, calls core/ with the caller the access check admitted, and returns JSON (or the
// infer body with binary data). Triton's shapes: snake_case fields, health as 200 or 400.

import type { InferenceCore } from '../../core/inference-core.js';
import { invalid, modelNotFound } from '../../errors.js';
import { ModelConfig } from '../../generated/inference/model_config.js';
import type { ModelRepositoryParameter, ModelStatistics } from '../../generated/inference/grpc_service.js';
import { HttpError, readBody } from './body.js';
import { parseInferBody } from './infer-json.js';
import { inferResponseBody, refuseJsonOnlyOutputs } from './infer-answer.js';
import { rawInferRequest } from './raw-request.js';
import { sharedMemoryHandlers } from './shm-routes.js';
import type { Handler, RouteAnswer, RouteCall } from './route-types.js';

export type { Handler, RouteAnswer, RouteCall } from './route-types.js';

const ok = (json?: unknown): RouteAnswer => (json === undefined ? { status: 200 } : { status: 200, json });
const health = (up: boolean): RouteAnswer => ({ status: up ? 200 : 400 });

/** Model readiness as Triton answers it: 200; 400 "not ready" for a model it knows; 404 for one it does not. */
function modelHealth(core: InferenceCore, c: RouteCall): RouteAnswer {
  if (core.modelReady(model(c), version(c))) return { status: 200 };
  if (!core.modelKnown(model(c))) throw modelNotFound(model(c));
  return { status: 400, json: { error: `model '${model(c)}'${version(c) ? ` version ${version(c)}` : ''} is not ready` } };
}
const version = (c: RouteCall): string => c.params['version'] ?? '';
const model = (c: RouteCall): string => c.params['model'] ?? '';
const body = (c: RouteCall): Promise<Buffer> => readBody(c.req, c.maxBodyBytes, '--http-max-input-size', c.hold);

async function jsonBody(c: RouteCall): Promise<Record<string, unknown>> {
  const b = await body(c);
  checkJsonSize(b.length, c);
  if (b.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(b.toString('utf8'));
  } catch (err) {
    throw invalid(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('the request body must be a JSON object');
  return v as Record<string, unknown>;
}

function checkJsonSize(n: number, c: RouteCall): void {
  if (n > c.maxJsonBytes)
    throw new HttpError(413, `the JSON part of the request is larger than ${c.maxJsonBytes} bytes (--http-max-json-size); send tensors as binary data`);
}

const notYet =
  (what: string): Handler =>
  (core) =>
    core.notImplemented(what);

/** Route key (as in security/routes.ts) → handler. */
export const HANDLERS: Record<string, Handler> = {
  'GET /v2': (core) => ok(core.serverMetadata()),
  'GET /v2/health/live': (core) => health(core.serverLive()),
  'GET /v2/health/ready': (core) => health(core.serverReady()),
  'GET /v2/models/:model/ready': modelHealth,
  'GET /v2/models/:model/versions/:version/ready': modelHealth,
  'GET /v2/models/:model': (core, c) => ok(metadataJson(core, c)),
  'GET /v2/models/:model/versions/:version': (core, c) => ok(metadataJson(core, c)),
  'GET /v2/models/:model/config': (core, c) => ok(configJson(core, c)),
  'GET /v2/models/:model/versions/:version/config': (core, c) => ok(configJson(core, c)),
  'GET /v2/models/:model/stats': async (core, c) => ok(statsJson(await core.statistics(model(c), version(c), c.caller))),
  'GET /v2/models/:model/versions/:version/stats': async (core, c) => ok(statsJson(await core.statistics(model(c), version(c), c.caller))),
  'GET /v2/models/stats': async (core, c) => ok(statsJson(await core.statistics('', '', c.caller))),
  'POST /v2/models/:model/infer': infer,
  'POST /v2/models/:model/versions/:version/infer': infer,
  'POST /v2/repository/index': async (core, c) => {
    const b = await jsonBody(c);
    if (b['ready'] !== undefined && typeof b['ready'] !== 'boolean') throw invalid("'ready' must be true or false");
    return ok(
      core.control.index(b['ready'] === true, c.caller).map((m) => ({
        name: m.name,
        ...(m.version ? { version: m.version } : {}),
        ...(m.state ? { state: m.state } : {}),
        ...(m.reason ? { reason: m.reason } : {}),
      })),
    );
  },
  'POST /v2/repository/models/:model/load': async (core, c) => {
    const b = await jsonBody(c);
    await core.control.load(model(c), loadParameters(b['parameters']), c.caller);
    return ok();
  },
  'POST /v2/repository/models/:model/unload': async (core, c) => {
    await jsonBody(c);
    await core.control.unload(model(c), c.caller);
    return ok();
  },
  ...sharedMemoryHandlers(jsonBody),
  ...(Object.fromEntries(
    ['status', 'region/:region/status', 'region/:region/register', 'region/:region/unregister', 'unregister'].map((tail) => [
      `${tail.endsWith('status') ? 'GET' : 'POST'} /v2/cudasharedmemory/${tail}`,
      notYet(`CUDA shared memory (/v2/cudasharedmemory/${tail.replace(':region', '{region}')})`),
    ]),
  ) as Record<string, Handler>),
  'GET /v2/trace/setting': notYet('Tracing (/v2/trace/setting)'),
  'POST /v2/trace/setting': notYet('Tracing (/v2/trace/setting)'),
  'GET /v2/models/:model/trace/setting': notYet('Tracing (/v2/models/{model}/trace/setting)'),
  'POST /v2/models/:model/trace/setting': notYet('Tracing (/v2/models/{model}/trace/setting)'),
  'GET /v2/logging': notYet('Changing log settings at run time (/v2/logging)'),
  'POST /v2/logging': notYet('Changing log settings at run time (/v2/logging)'),
};

async function infer(core: InferenceCore, c: RouteCall): Promise<RouteAnswer> {
  const raw = await body(c);
  const values = c.req.headersDistinct['inference-header-content-length'];
  if (values && values.length > 1) throw invalid('Inference-Header-Content-Length is given more than once');
  const h = values?.[0];
  let headerLength: number | undefined;
  if (h !== undefined) {
    if (!/^[0-9]{1,15}$/.test(h.trim())) throw invalid('Inference-Header-Content-Length must be a non-negative integer');
    headerLength = Number(h);
  }
  if (headerLength !== 0) checkJsonSize(headerLength ?? raw.length, c);
  const parsed =
    headerLength === 0 || (headerLength === undefined && raw.length === 0)
      ? rawInferRequest(core, raw, model(c), version(c))
      : parseInferBody(raw, headerLength, model(c), version(c), c.limits);
  refuseJsonOnlyOutputs(core.modelConfig(model(c), version(c)).config?.output ?? [], parsed.request.outputs, parsed.binary);
  const res = await core.infer(parsed.request, {
    caller: c.caller,
    deadlineAtMs: undefined,
    cancel: c.cancel,
    source: `${c.req.socket.remoteAddress ?? ''}:${c.req.socket.remotePort ?? ''}`,
  });
  const out = inferResponseBody(res, parsed.binary, { maxElements: c.limits.maxElements, maxJsonBytes: c.maxJsonAnswerBytes });
  if (out.headerLength === undefined) return { status: 200, body: out.body, headers: { 'content-type': 'application/json' } };
  return { status: 200, body: out.body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(out.headerLength) } };
}

function metadataJson(core: InferenceCore, c: RouteCall): unknown {
  const m = core.modelMetadata(model(c), version(c));
  const t = (x: { name: string; datatype: string; shape: bigint[] }) => ({ name: x.name, datatype: x.datatype, shape: x.shape.map(Number) });
  return { name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs.map(t), outputs: m.outputs.map(t) };
}

/** The config as protobuf JSON with the proto's own (snake_case) field names, as Triton writes it. */
function configJson(core: InferenceCore, c: RouteCall): unknown {
  const config = core.modelConfig(model(c), version(c)).config;
  return snakeKeys(ModelConfig.toJSON(config ?? ModelConfig.fromPartial({})));
}

/** model_config.proto's map fields (JSON names): their keys are the user's, not field names. */
const MAP_FIELDS = new Set(['parameters', 'ccModelFilenames', 'metricTags', 'inputs', 'inputMap', 'outputMap', 'priorityQueuePolicy', 'input']);

/** Field names to the proto's snake_case, as Triton writes them; map keys as written. */
function snakeKeys(v: unknown, isMap = false): unknown {
  if (Array.isArray(v)) return v.map((x) => snakeKeys(x));
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, x] of Object.entries(v)) {
    if (isMap) out[k] = snakeKeys(x);
    else out[k.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`)] = snakeKeys(x, MAP_FIELDS.has(k) && typeof x === 'object' && x !== null && !Array.isArray(x));
  }
  return out;
}

function statsJson(stats: ModelStatistics[]): unknown {
  const d = (x: { count: bigint; ns: bigint } | undefined) => ({ count: Number(x?.count ?? 0n), ns: Number(x?.ns ?? 0n) });
  return {
    model_stats: stats.map((s) => ({
      name: s.name,
      version: s.version,
      last_inference: Number(s.lastInference),
      inference_count: Number(s.inferenceCount),
      execution_count: Number(s.executionCount),
      inference_stats: {
        success: d(s.inferenceStats?.success),
        fail: d(s.inferenceStats?.fail),
        queue: d(s.inferenceStats?.queue),
        compute_input: d(s.inferenceStats?.computeInput),
        compute_infer: d(s.inferenceStats?.computeInfer),
        compute_output: d(s.inferenceStats?.computeOutput),
        cache_hit: d(s.inferenceStats?.cacheHit),
        cache_miss: d(s.inferenceStats?.cacheMiss),
      },
      batch_stats: s.batchStats.map((b) => ({
        batch_size: Number(b.batchSize),
        compute_input: d(b.computeInput),
        compute_infer: d(b.computeInfer),
        compute_output: d(b.computeOutput),
      })),
      memory_usage: [],
    })),
  };
}

/** Load parameters as Triton's HTTP API has them: "config" a JSON string, "file:…" base64. */
function loadParameters(v: unknown): Record<string, ModelRepositoryParameter> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid("'parameters' must be a JSON object");
  const out: Record<string, ModelRepositoryParameter> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('file:')) {
      if (typeof x !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(x)) throw invalid(`load parameter '${k.slice(0, 200)}' must be the file's bytes in base64`);
      out[k] = { parameterChoice: { $case: 'bytesParam', value: Buffer.from(x, 'base64') } };
    } else if (typeof x === 'string') out[k] = { parameterChoice: { $case: 'stringParam', value: x } };
    else if (typeof x === 'boolean') out[k] = { parameterChoice: { $case: 'boolParam', value: x } };
    else if (typeof x === 'number' && Number.isSafeInteger(x)) out[k] = { parameterChoice: { $case: 'int64Param', value: BigInt(x) } };
    else throw invalid(`load parameter '${k.slice(0, 200)}' must be a string, a boolean or an integer`);
  }
  return out;
}
