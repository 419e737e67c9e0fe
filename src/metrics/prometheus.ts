// Prometheus metrics under Triton's names and labels (model, version). Counters are read
// from the same ModelStats that ModelStatistics returns, at scrape time, so the two can
// never disagree; latency summaries and the batch-size histogram are fed per event.
// The only module that imports prom-client.

import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import { cpus, totalmem } from 'node:os';
import type { FailureReason, ModelStats, StatsObserver } from './model-stats.js';
import type { ModelRegistry } from '../model/registry.js';

/** One loaded model version, as the exporter reads it at scrape time. */
export interface VersionView {
  model: string;
  version: number;
  stats: ModelStats;
  pending: number;
  replicas: Array<{ name: string; breaker: 'closed' | 'open' | 'half-open'; inFlightBatches: number; executed: number }>;
}

const reasons: FailureReason[] = ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER'];
const breakerValue = { closed: 0, 'half-open': 1, open: 2 } as const;

export class PrometheusExporter {
  readonly registry = new Registry();
  private readonly requestSummary: Summary<'model' | 'version'> | undefined;
  private readonly queueSummary: Summary<'model' | 'version'> | undefined;
  private readonly batchHistogram: Histogram<'model' | 'version'>;
  private lastCpu = process.cpuUsage();
  private lastCpuAt = performance.now();

  /**
   * `summaryLatencies`: per-request latency summaries, off by default as in tritonserver
   * (--metrics-config summary_latencies=true); they cost a few µs per request.
   */
  constructor(
    private readonly versions: () => VersionView[],
    summaryLatencies = false,
  ) {
    const r = this.registry;
    const labels = ['model', 'version'] as const;
    const fromStats = (name: string, help: string, read: (s: ModelStats) => number): void => {
      const exporter = this;
      new Counter({
        name,
        help,
        labelNames: labels,
        registers: [r],
        collect() {
          this.reset();
          for (const v of exporter.versions()) this.inc({ model: v.model, version: String(v.version) }, read(v.stats));
        },
      });
    };
    fromStats('nv_inference_request_success', 'Number of successful inference requests, all batch sizes', (s) => s.success.count);
    fromStats('nv_inference_count', 'Number of inferences performed (batch rows; does not include cached requests)', (s) => s.inferenceCount);
    fromStats('nv_inference_exec_count', 'Number of model executions performed (does not include cached requests)', (s) => s.executionCount);
    fromStats('nv_inference_request_duration_us', 'Cumulative inference request duration in microseconds', (s) => (s.success.ns + s.fail.ns) / 1000);
    fromStats('nv_inference_queue_duration_us', 'Cumulative inference queuing duration in microseconds', (s) => s.queue.ns / 1000);
    fromStats('nv_inference_compute_input_duration_us', 'Cumulative compute input duration in microseconds', (s) => s.computeInput.ns / 1000);
    fromStats('nv_inference_compute_infer_duration_us', 'Cumulative compute inference duration in microseconds', (s) => s.computeInfer.ns / 1000);
    fromStats('nv_inference_compute_output_duration_us', 'Cumulative inference compute output duration in microseconds', (s) => s.computeOutput.ns / 1000);
    const exporter = this;
    new Counter({
      name: 'nv_inference_request_failure',
      help: 'Number of failed inference requests, all batch sizes',
      labelNames: ['model', 'version', 'reason'] as const,
      registers: [r],
      collect() {
        this.reset();
        for (const v of exporter.versions()) {
          for (const reason of reasons) this.inc({ model: v.model, version: String(v.version), reason }, v.stats.failByReason[reason]);
        }
      },
    });
    new Gauge({
      name: 'nv_inference_pending_request_count',
      help: 'Instantaneous number of pending requests awaiting execution per-model',
      labelNames: labels,
      registers: [r],
      collect() {
        this.reset();
        for (const v of exporter.versions()) this.set({ model: v.model, version: String(v.version) }, v.pending);
      },
    });
    type Replica = VersionView['replicas'][number];
    const perReplica = (kind: 'gauge' | 'counter', name: string, help: string, read: (rep: Replica) => number, aggregator: 'sum' | 'max' = 'sum'): void => {
      const options = {
        name,
        help,
        aggregator,
        labelNames: ['model', 'version', 'replica'] as const,
        registers: [r],
        collect(this: Gauge<'model' | 'version' | 'replica'> | Counter<'model' | 'version' | 'replica'>) {
          this.reset();
          for (const v of exporter.versions()) {
            for (const rep of v.replicas) {
              const labels = { model: v.model, version: String(v.version), replica: rep.name };
              if (this instanceof Gauge) this.set(labels, read(rep));
              else this.inc(labels, read(rep));
            }
          }
        },
      };
      if (kind === 'gauge') new Gauge(options);
      else new Counter(options);
    };
    perReplica('gauge', 'triton_ts_replica_inflight_batches', 'Batches running on each replica', (rep) => rep.inFlightBatches);
    perReplica('counter', 'triton_ts_replica_executions', 'Batches each replica has run to completion', (rep) => rep.executed);
    perReplica(
      'gauge',
      'triton_ts_replica_breaker_state',
      'Circuit breaker of each replica: 0 closed, 1 half-open, 2 open',
      (rep) => breakerValue[rep.breaker],
      // Across --server-processes each process has its own breakers: the worst one is shown.
      'max',
    );
    new Gauge({
      name: 'nv_cpu_utilization',
      help: 'CPU utilization of this server process since the last scrape, as a fraction of all cores [0.0 - 1.0]',
      registers: [r],
      collect() {
        this.set(exporter.cpuUtilization());
      },
    });
    new Gauge({
      name: 'nv_cpu_memory_total_bytes',
      help: 'CPU total memory (RAM), in bytes',
      registers: [r],
      // The machine's, not a process's: across --server-processes it is counted once.
      aggregator: 'first',
      collect() {
        this.set(totalmem());
      },
    });
    new Gauge({
      name: 'nv_cpu_memory_used_bytes',
      help: 'Resident memory of this server process, in bytes',
      registers: [r],
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    const summary = (name: string, help: string) =>
      !summaryLatencies
        ? undefined
        : new Summary({
            name,
            help,
            labelNames: labels,
            percentiles: [0.5, 0.9, 0.95, 0.99],
            maxAgeSeconds: 60,
            ageBuckets: 5,
            registers: [r],
            // Quantiles of several processes cannot be summed; across --server-processes the largest is shown.
            aggregator: 'max',
          });
    this.requestSummary = summary('nv_inference_request_summary_us', 'Summary of successful inference request durations in microseconds');
    this.queueSummary = summary('nv_inference_queue_summary_us', 'Summary of inference queuing durations in microseconds');
    this.batchHistogram = new Histogram({
      name: 'triton_ts_batch_rows',
      help: 'Rows per model execution (the batch size the dynamic batcher formed)',
      labelNames: labels,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [r],
    });
    collectDefaultMetrics({ register: r });
  }

  /** Distribution hooks for one model version's statistics. */
  observerFor(model: string, version: number): StatsObserver {
    const l = { model, version: String(version) };
    const request = this.requestSummary?.labels(l);
    const queue = this.queueSummary?.labels(l);
    const batch = this.batchHistogram.labels(l);
    return {
      request: (us) => request?.observe(us),
      queue: (us) => queue?.observe(us),
      batch: (rows) => batch.observe(rows),
    };
  }

  /** This process's metrics as prom-client JSON, for a cluster primary to aggregate. */
  json(): Promise<unknown> {
    return this.registry.getMetricsAsJSON();
  }

  contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  private cpuUtilization(): number {
    const now = performance.now();
    const used = process.cpuUsage(this.lastCpu);
    const elapsedUs = (now - this.lastCpuAt) * 1000;
    this.lastCpu = process.cpuUsage();
    this.lastCpuAt = now;
    if (elapsedUs <= 0) return 0;
    return Math.min(1, (used.user + used.system) / elapsedUs / cpus().length);
  }
}

/** Every loaded version with its statistics and replicas, for the exporter. */
export function versionViews(registry: ModelRegistry): VersionView[] {
  const out: VersionView[] = [];
  for (const m of registry.all()) {
    for (const v of m.versions.values()) {
      if (!v.stats) continue;
      out.push({ model: m.name, version: v.version, stats: v.stats, pending: v.serving?.pendingRequests ?? 0, replicas: v.serving?.replicaStates() ?? [] });
    }
  }
  return out;
}
