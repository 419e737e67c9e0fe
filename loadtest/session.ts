// One model under load: fetches its metadata and config (control-plane.ts), builds the
// request once, drives the load through worker threads (load-generator.ts) and reads the
// server's statistics around each step.

import { ModelInferRequest, type ModelMetadataResponse } from '../src/generated/inference/grpc_service.js';
import { placeInSharedMemory, type SharedMemoryPlacement } from './shared-memory.js';
import { parametersToJson } from '../src/frontend/http/infer-json.js';
import { buildRequest, type InputOptions } from './inputs.js';
import { percentile, summarize } from './percentiles.js';
import type { ConnectionOptions } from './connection.js';
import { controlPlane, type ControlPlane, type ServerStats } from './control-plane.js';
import { LoadGenerator } from './load-generator.js';
import type { Payload, Protocol } from './transports.js';

export type Step = { mode: 'concurrency'; level: number } | { mode: 'rate'; level: number };

export interface StepResult {
  model: string;
  mode: Step['mode'];
  level: number;
  requests: number;
  /** Inferences (batch rows) per second as seen by the client. */
  throughput: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** The --percentile latency. */
  pMs: number;
  errors: number;
  dropped: number;
  firstError: string;
  /** Failed calls by kind (gRPC status name, HTTP status), and how long the slowest 1 % took to fail. */
  failureKinds: Record<string, number>;
  failureSamples: Record<string, string>;
  failureP99Ms: number;
  /** Server-side averages per request, from ModelStatistics. */
  queueUs: number;
  computeInputUs: number;
  computeInferUs: number;
  computeOutputUs: number;
  /** Rows per model execution on the server. */
  avgBatchRows: number;
  /** CPU the load generator used, in cores, and the cores it had. */
  clientCores: number;
  cores: number;
}

export interface SessionOptions {
  protocol?: Protocol;
  conn?: ConnectionOptions;
  /** Load threads, and connections spread over them. */
  workers?: number;
  connections?: number;
  /** The percentile reported as pMs (perf_analyzer's --percentile). */
  percentile?: number;
  timeoutMs?: number;
  /** perf_analyzer's --shared-memory: tensors through system shared memory regions instead of the message. */
  sharedMemory?: 'none' | 'system';
  /** perf_analyzer's --output-shared-memory-size: bytes set aside per output. */
  outputSharedMemorySize?: number;
}

export class LoadSession {
  meta!: ModelMetadataResponse;
  batched = false;
  private req!: ModelInferRequest;
  private generator: LoadGenerator | undefined;
  private readonly control: ControlPlane;
  private readonly o: Required<SessionOptions>;
  private shm: SharedMemoryPlacement | undefined;

  constructor(
    readonly url: string,
    readonly model: string,
    readonly version = '',
    options: SessionOptions = {},
  ) {
    this.o = {
      protocol: 'grpc',
      conn: {},
      workers: 1,
      connections: 1,
      percentile: 99,
      timeoutMs: 60_000,
      sharedMemory: 'none',
      outputSharedMemorySize: 102_400,
      ...options,
    };
    this.control = controlPlane(this.o.protocol, url, model, version, this.o.conn);
  }

  async init(inputs: InputOptions): Promise<this> {
    this.meta = await this.control.metadata();
    this.batched = (await this.control.maxBatchSize()) > 0;
    this.req = buildRequest(this.meta, this.batched, inputs);
    this.req.modelVersion = this.version;
    if (this.o.sharedMemory === 'system') {
      this.shm = await placeInSharedMemory(this.req, this.meta, this.control, this.o.outputSharedMemorySize);
    }
    this.generator = await LoadGenerator.start(
      { address: this.url, connections: this.o.connections, conn: this.o.conn, payload: payloadOf(this.o.protocol, this.req), timeoutMs: this.o.timeoutMs },
      this.o.workers,
    );
    return this;
  }

  get request(): ModelInferRequest {
    return this.req;
  }

  get rowsPerRequest(): number {
    return this.batched ? Number(this.req.inputs[0]?.shape[0] ?? 1n) : 1;
  }

  async warmUp(count: number): Promise<void> {
    const n = Math.max(1, count);
    await this.generator!.step({ mode: 'concurrency', level: n, durationMs: 0, maxRequests: n, seed: 0 });
  }

  async measure(step: Step, intervalMs: number, maxRequests: number, seed = 1): Promise<StepResult> {
    const before = await this.control.stats();
    const r = await this.generator!.step({ mode: step.mode, level: step.level, durationMs: intervalMs, maxRequests, seed });
    const after = await this.control.stats();
    const s = summarize(r.latenciesMs);
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    const d = (f: (x: ServerStats) => number) => (after && before ? f(after) - f(before) : NaN);
    const n = d((x) => x.success);
    const perReqUs = (f: (x: ServerStats) => number) => d(f) / n / 1000;
    return {
      model: this.model,
      mode: step.mode,
      level: step.level,
      requests: r.latenciesMs.length,
      throughput: (r.latenciesMs.length * this.rowsPerRequest) / (r.elapsedMs / 1000),
      meanMs: s.meanMs,
      p50Ms: s.p50Ms,
      p90Ms: s.p90Ms,
      p95Ms: percentile(sorted, 95),
      p99Ms: s.p99Ms,
      pMs: percentile(sorted, this.o.percentile),
      errors: r.errors,
      dropped: r.dropped,
      firstError: r.firstError ?? '',
      failureKinds: r.failureKinds,
      failureSamples: r.failureSamples,
      failureP99Ms: r.failureLatenciesMs.length
        ? percentile(
            [...r.failureLatenciesMs].sort((a, b) => a - b),
            99,
          )
        : NaN,
      queueUs: perReqUs((x) => x.queueNs),
      computeInputUs: perReqUs((x) => x.computeInputNs),
      computeInferUs: perReqUs((x) => x.computeInferNs),
      computeOutputUs: perReqUs((x) => x.computeOutputNs),
      avgBatchRows: d((x) => x.inferenceCount) / d((x) => x.executionCount),
      clientCores: r.clientCores,
      cores: r.cores,
    };
  }

  async close(): Promise<void> {
    await this.generator?.close();
    await this.shm?.remove();
    this.control.close();
  }
}

/**
 * The request as each protocol sends it: protobuf bytes, or over HTTP the binary tensor
 * data extension (inputs in shared memory carry their parameters and no data).
 */
export function payloadOf(protocol: Protocol, req: ModelInferRequest): Payload {
  if (protocol === 'grpc') return { protocol, bytes: ModelInferRequest.encode(req).finish() };
  let raw = 0;
  const header = Buffer.from(
    JSON.stringify({
      ...(req.id ? { id: req.id } : {}),
      inputs: req.inputs.map((t) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape.map(Number),
        parameters: t.parameters['shared_memory_region'] ? parametersToJson(t.parameters) : { binary_data_size: req.rawInputContents[raw++]!.length },
      })),
      ...(req.outputs.length > 0 ? { outputs: req.outputs.map((o) => ({ name: o.name, parameters: parametersToJson(o.parameters) })) } : {}),
      parameters: { binary_data_output: true },
    }),
  );
  const path = `/v2/models/${encodeURIComponent(req.modelName)}${req.modelVersion ? `/versions/${encodeURIComponent(req.modelVersion)}` : ''}/infer`;
  return {
    protocol,
    path,
    body: Buffer.concat([header, ...req.rawInputContents]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

/** "S:E[:T]" with T additive or "xN" multiplicative, as perf_analyzer's ranges. */
export function rangeSteps(spec: string, flag: string): number[] {
  const m = /^(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?)(?::(x?)(\d+(?:\.\d+)?))?)?$/.exec(spec);
  if (!m) throw new Error(`${flag} must be START[:END[:STEP]] or START:END:xFACTOR, got '${spec}'`);
  const start = Number(m[1]);
  const end = m[2] ? Number(m[2]) : start;
  const multiply = m[3] === 'x';
  const step = m[4] ? Number(m[4]) : 1;
  if (start <= 0 || end < start || step <= 0 || (multiply && step <= 1)) throw new Error(`${flag} '${spec}' is empty or does not advance`);
  const out: number[] = [];
  for (let c = start; c <= end + 1e-9; c = multiply ? c * step : c + step) out.push(c);
  return out;
}

/** Closed-loop steps for each model in turn against one server (warm-up first). */
export async function measureModels(
  address: string,
  models: string[],
  levels: number[],
  intervalMs: number,
  options: SessionOptions = {},
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const model of models) {
    const s = await new LoadSession(address, model, '', options).init({ batchSize: 1, shapes: {}, data: 'random' });
    try {
      await s.warmUp(Math.max(...levels));
      for (const c of levels) results.push(await s.measure({ mode: 'concurrency', level: c }, intervalMs, 1_000_000));
    } finally {
      await s.close();
    }
  }
  return results;
}
