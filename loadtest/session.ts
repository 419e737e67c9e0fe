// One model under load: fetches its metadata and config, builds the request, runs a
// measurement step (closed or open loop) and reads the server's statistics around it.

import {
  GRPCInferenceServiceClient,
  type ModelConfigResponse,
  type ModelInferRequest,
  type ModelMetadataResponse,
  type ModelStatistics,
  type ModelStatisticsResponse,
} from '../src/generated/inference/grpc_service.js';
import { closedLoop, type Client } from './closed-loop.js';
import { buildRequest, type InputOptions } from './inputs.js';
import { openLoop, seededRandom } from './open-loop.js';
import { summarize } from './percentiles.js';
import { connection, type Connection } from './connection.js';

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
  p99Ms: number;
  errors: number;
  dropped: number;
  firstError: string;
  /** Server-side averages per request, from ModelStatistics. */
  queueUs: number;
  computeInputUs: number;
  computeInferUs: number;
  computeOutputUs: number;
  /** Rows per model execution on the server. */
  avgBatchRows: number;
}

export class LoadSession {
  readonly client: Client;
  meta!: ModelMetadataResponse;
  batched = false;
  private req!: ModelInferRequest;

  constructor(
    url: string,
    readonly model: string,
    readonly version = '',
    conn: Connection = connection(),
  ) {
    this.client = new GRPCInferenceServiceClient(url, conn.credentials, {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      ...conn.options,
    });
  }

  async init(inputs: InputOptions): Promise<this> {
    this.meta = await new Promise<ModelMetadataResponse>((res, rej) =>
      this.client.modelMetadata({ name: this.model, version: this.version }, (e, r) => (e ? rej(e) : res(r))),
    );
    const cfg = await new Promise<ModelConfigResponse>((res, rej) =>
      this.client.modelConfig({ name: this.model, version: this.version }, (e, r) => (e ? rej(e) : res(r))),
    );
    this.batched = (cfg.config?.maxBatchSize ?? 0) > 0;
    this.req = buildRequest(this.meta, this.batched, inputs);
    this.req.modelVersion = this.version;
    return this;
  }

  get request(): ModelInferRequest {
    return this.req;
  }

  get rowsPerRequest(): number {
    return this.batched ? Number(this.req.inputs[0]?.shape[0] ?? 1n) : 1;
  }

  async stats(): Promise<ModelStatistics | undefined> {
    const r = await new Promise<ModelStatisticsResponse>((res, rej) =>
      this.client.modelStatistics({ name: this.model, version: this.version }, (e, x) => (e ? rej(e) : res(x))),
    );
    return r.modelStats.sort((a, b) => Number(b.version) - Number(a.version))[0];
  }

  async warmUp(count: number): Promise<void> {
    await closedLoop(this.client, () => this.req, Math.max(1, count), 0, Math.max(1, count));
  }

  async measure(step: Step, intervalMs: number, maxRequests: number, seed = 1): Promise<StepResult> {
    const before = await this.stats();
    const r =
      step.mode === 'concurrency'
        ? { ...(await closedLoop(this.client, () => this.req, step.level, intervalMs, maxRequests)), dropped: 0 }
        : await openLoop(this.client, () => this.req, {
            ratePerSec: step.level,
            durationMs: intervalMs,
            maxRequests,
            maxOutstanding: 10_000,
            random: seededRandom(seed),
          });
    const after = await this.stats();
    const s = summarize(r.latenciesMs);
    const d = (f: (x: ModelStatistics) => bigint) => (after && before ? Number(f(after) - f(before)) : NaN);
    const n = d((x) => x.inferenceStats?.success?.count ?? 0n);
    const perReqUs = (f: (x: ModelStatistics) => bigint) => d(f) / n / 1000;
    return {
      model: this.model,
      mode: step.mode,
      level: step.level,
      requests: r.latenciesMs.length,
      throughput: (r.latenciesMs.length * this.rowsPerRequest) / (r.elapsedMs / 1000),
      meanMs: s.meanMs,
      p50Ms: s.p50Ms,
      p90Ms: s.p90Ms,
      p99Ms: s.p99Ms,
      errors: r.errors,
      dropped: r.dropped,
      firstError: r.firstError ?? '',
      queueUs: perReqUs((x) => x.inferenceStats?.queue?.ns ?? 0n),
      computeInputUs: perReqUs((x) => x.inferenceStats?.computeInput?.ns ?? 0n),
      computeInferUs: perReqUs((x) => x.inferenceStats?.computeInfer?.ns ?? 0n),
      computeOutputUs: perReqUs((x) => x.inferenceStats?.computeOutput?.ns ?? 0n),
      avgBatchRows: d((x) => x.inferenceCount) / d((x) => x.executionCount),
    };
  }

  close(): void {
    this.client.close();
  }
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
export async function measureModels(address: string, models: string[], levels: number[], intervalMs: number, conn?: Connection): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const model of models) {
    const s = await new LoadSession(address, model, '', conn).init({ batchSize: 1, shapes: {}, data: 'random' });
    try {
      await s.warmUp(Math.max(...levels));
      for (const c of levels) results.push(await s.measure({ mode: 'concurrency', level: c }, intervalMs, 1_000_000));
    } finally {
      s.close();
    }
  }
  return results;
}
