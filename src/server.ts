// Composition root: builds the registry, repository, replica pools and the gRPC
// frontend, and owns startup and graceful shutdown.

import { formatModelTable, modelStates, type ModelStateRow } from './model/model-table.js';
import { HttpFrontend } from './frontend/http/http-server.js';
import { InferenceCore } from './core/inference-core.js';
import { BatchingServingVersion } from './core/serving-version.js';
import { GrpcFrontend } from './frontend/grpc/grpc-server.js';
import type { ServiceContext } from './core/context.js';
import type { ServerOptions } from './server-options.js';
import type { Logger } from './log.js';
import { packageVersion } from './package-root.js';
import { ModelRegistry } from './model/registry.js';
import { ModelRepository } from './repository/model-repository.js';
import { systemClock } from './clock.js';
import type { MetricsEndpoint } from './metrics/http-endpoint.js';
import { PrometheusExporter, versionViews } from './metrics/prometheus.js';
import type { Security } from './security/security.js';
import { metricsEndpointFor } from './security/http-admission.js';
import { modelAuditFields } from './security/model-audit.js';
import { SERVER_WHO } from './security/audit-log.js';
import { SystemSharedMemory } from './shm/system-shared-memory.js';
import { LocalLink, type ClusterLink } from './cluster/link.js';
import { localOps } from './core/local-ops.js';

export const SERVER_NAME = 'triton-ts';

const clock = systemClock;

export class InferenceServer {
  readonly registry = new ModelRegistry();
  private readonly sharedMemory: SystemSharedMemory;
  readonly repository: ModelRepository;
  private readonly frontend: GrpcFrontend;
  private readonly http: HttpFrontend | undefined;
  httpPort = 0;
  private readonly exporter: PrometheusExporter | undefined;
  private readonly metricsEndpoint: MetricsEndpoint | undefined;
  metricsPort = 0;
  private live = false;
  /** Strict readiness counts the models loaded at start; a later failed or bogus load never changes it. */
  private readonly startupModels = new Set<string>();
  private started = false;
  private stopping: Promise<void> | undefined;
  port = 0;

  constructor(
    private readonly opts: ServerOptions,
    private readonly log: Logger,
    private readonly security: Security,
    private readonly cluster: ClusterLink = new LocalLink(),
  ) {
    this.sharedMemory = new SystemSharedMemory({ enabled: opts.allowClientShm });
    if (opts.allowMetrics) {
      this.exporter = new PrometheusExporter(() => versionViews(this.registry), opts.summaryLatencies);
      // A worker of several processes: the primary answers the scrape, summing every worker's metrics.
      if (cluster.servesMetrics) this.metricsEndpoint = metricsEndpointFor(this.exporter, opts, security);
    }
    const exporter = this.exporter;
    this.repository = new ModelRepository(
      {
        root: opts.modelRepository,
        makeServing: (version, runner, config, o) => new BatchingServingVersion(version, runner, config, o, clock, log),
        autoComplete: opts.autoComplete,
        defaultMaxBatchSize: opts.defaultMaxBatchSize,
        testFaults: opts.testFaults,
        configLimits: {
          maxInstanceCount: opts.limits.maxModelInstances,
          maxTimeoutUs: opts.limits.maxConfigTimeoutUs,
          maxWarmupSamples: opts.limits.maxWarmupSamples,
          maxWarmupBatchSize: opts.limits.maxWarmupBatchSize,
          maxWarmupCount: opts.limits.maxWarmupCount,
          maxWarmupBytes: opts.limits.maxWarmupBytes,
        },
        maxQueueWaitMs: opts.limits.maxQueueWaitMs,
        observerFor: exporter ? (model, version) => exporter.observerFor(model, version) : undefined,
        onPollChange: (kind, model) => this.auditModel(kind === 'load' ? 'model_load' : 'model_unload', model),
        modelKeys: security.modelKeys,
        requireEncryptedModels: opts.security.requireEncryptedModels,
      },
      this.registry,
      log,
      clock,
    );
    const ctx: ServiceContext = {
      registry: this.registry,
      repository: this.repository,
      controlMode: opts.controlMode,
      clock,
      log,
      serverName: SERVER_NAME,
      serverVersion: packageVersion(),
      extensions: [
        'model_repository',
        'model_configuration',
        'statistics',
        'parameters',
        'binary_tensor_data',
        ...(opts.allowClientShm ? ['system_shared_memory'] : []),
      ],
      testFaults: opts.testFaults,
      security,
      sharedMemory: this.sharedMemory,
      cluster,
      isLive: () => this.live,
      isReady: () => this.isReady(),
      modelsChanged: () => this.frontend.syncHealth(),
    };
    const core = new InferenceCore(ctx, opts.limits);
    cluster.serve(localOps(ctx), {
      ready: () => this.isLocallyReady(),
      readyChanged: () => this.frontend.syncHealth(),
      metrics: exporter ? () => exporter.json() : undefined,
    });
    this.frontend = new GrpcFrontend(ctx, core, {
      host: opts.grpcHost,
      port: opts.grpcPort,
      maxMessageBytes: opts.maxMessageBytes,
      limits: opts.limits,
      keepalivePermitWithoutCalls: opts.keepalivePermitWithoutCalls,
      tls: security.grpcTls ? { source: security.grpcTls, mutual: opts.security.grpcTls?.mutual ?? false } : undefined,
      access: security.access,
    });
    this.http = opts.allowHttp
      ? new HttpFrontend(core, log, {
          host: opts.httpHost,
          port: opts.httpPort,
          maxBodyBytes: opts.httpMaxInputBytes,
          access: security.access,
          limits: opts.limits,
          maxBufferedBytes: opts.limits.httpMaxBufferedBytes,
          maxJsonBytes: opts.limits.httpMaxJsonBytes,
          maxJsonAnswerBytes: opts.limits.httpMaxJsonAnswerBytes,
          maxConnections: opts.limits.httpMaxConnections,
          headersTimeoutMs: opts.limits.httpHeadersTimeoutMs,
          requestTimeoutMs: opts.limits.httpRequestTimeoutMs,
          answerStallTimeoutMs: opts.limits.answerStallTimeoutMs,
        })
      : undefined;
  }

  /**
   * Listens first (live, not ready, so probes answer during loading), then loads models. A
   * worker of --server-processes listens last, once the primary's replay of the loads and
   * regions made since start has reached it: until then it must not take connections.
   */
  async start(): Promise<void> {
    const lateListen = !this.cluster.servesMetrics;
    if (!lateListen) await this.listen();
    let names: string[];
    if (this.opts.controlMode === 'explicit') {
      names = this.opts.loadModels.includes('*') ? this.repository.modelNames() : [...this.opts.loadModels];
    } else {
      names = this.repository.modelNames();
    }
    for (const n of names) this.startupModels.add(n);
    await this.repository.loadAll(names);
    // A stop during loading (a signal, a start-up timeout) unloads what loaded; nothing more starts.
    if (this.stopping) return;
    for (const n of names) this.auditModel('model_load', n);
    this.security.watch();
    this.started = true;
    await this.cluster.announce();
    if (lateListen) await this.listen();
    this.frontend.syncHealth();
    if (this.opts.controlMode === 'poll') this.schedulePoll();
  }

  private async listen(): Promise<void> {
    this.port = await this.frontend.listen();
    this.live = true;
    this.frontend.syncHealth();
    this.log.info(
      `started GRPCInferenceService at ${this.opts.grpcHost}:${this.port} (${!this.security.grpcTls ? 'plaintext' : this.opts.security.grpcTls?.mutual ? 'mutual TLS' : 'TLS'}, ${this.security.describePolicy()})`,
    );
    if (this.http) {
      this.httpPort = await this.http.listen();
      this.log.info(`started HTTPService at ${this.opts.httpHost}:${this.httpPort} (plaintext, ${this.security.describePolicy()})`);
    }
    if (this.metricsEndpoint) {
      this.metricsPort = await this.metricsEndpoint.listen(this.opts.metricsHost, this.opts.metricsPort);
      this.log.info(`started metrics service at ${this.opts.metricsHost}:${this.metricsPort} (${this.security.metricsTls ? 'HTTPS' : 'HTTP'})`);
    }
  }

  private pollTimer: NodeJS.Timeout | undefined;

  /** A load or unload the server made itself (start-up, polling) in the audit trail. */
  private auditModel(kind: 'model_load' | 'model_unload', name: string): void {
    const entry = this.registry.entry(name);
    const ok = kind === 'model_unload' || [...(entry?.versions.values() ?? [])].some((v) => v.state === 'READY');
    this.security.audit?.record({
      event: kind,
      who: SERVER_WHO,
      model: name,
      outcome: ok ? 'ok' : 'failed',
      ...(ok ? {} : { reason: entry?.reason || 'no version is ready' }),
      ...modelAuditFields(entry),
    });
  }

  /** One scan at a time: the next is scheduled when the previous finished. */
  private schedulePoll(): void {
    this.pollTimer = setTimeout(() => {
      this.repository
        .poll()
        .catch((err: unknown) => this.log.error('repository poll failed', { error: String(err) }))
        .finally(() => {
          this.frontend.syncHealth();
          if (!this.stopping) this.schedulePoll();
        });
    }, this.opts.repositoryPollMs);
  }

  /** Ready here and, with --server-processes, in every other process too. */
  isReady(): boolean {
    return this.isLocallyReady() && this.cluster.clusterReady();
  }

  private isLocallyReady(): boolean {
    if (!this.live || !this.started || this.stopping) return false;
    if (!this.opts.strictReadiness) return true;
    for (const m of this.registry.all()) {
      if (m.reason === 'unloaded' || !this.startupModels.has(m.name)) continue;
      if (m.state === 'LOADING' || m.state === 'UNAVAILABLE') return false;
      const versions = [...m.versions.values()];
      if (versions.length > 0 && !versions.some((v) => v.state === 'READY')) return false;
    }
    return true;
  }

  /** One row per model version (src/model/model-table.ts). */
  modelStates(): ModelStateRow[] {
    return modelStates(this.registry);
  }

  /** tritonserver's startup table. */
  modelTable(): string {
    return formatModelTable(modelStates(this.registry));
  }

  /**
   * Graceful stop: report NOT_SERVING for drainMs, stop accepting calls, let in-flight
   * calls finish (cancel them after exitTimeoutMs), then unload every model.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.pollTimer);
      this.frontend.drain();
      if (this.opts.drainMs > 0) await new Promise((r) => setTimeout(r, this.opts.drainMs));
      const httpClosed = this.http?.close();
      const how = await this.frontend.shutdown(this.opts.exitTimeoutMs);
      if (httpClosed) {
        let t: NodeJS.Timeout | undefined;
        const done = await Promise.race([httpClosed.then(() => true), new Promise<false>((r) => (t = setTimeout(() => r(false), this.opts.exitTimeoutMs)))]);
        clearTimeout(t);
        if (!done) {
          this.http?.forceClose();
          this.log.warn(`HTTP requests still running after ${this.opts.exitTimeoutMs} ms were cancelled`);
        }
      }
      this.live = false;
      if (how === 'forced') this.log.warn(`in-flight calls still running after ${this.opts.exitTimeoutMs} ms were cancelled`);
      // Queued and running batches drain within what is left of the exit timeout.
      let timer: NodeJS.Timeout | undefined;
      const names = this.registry
        .all()
        .filter((m) => [...m.versions.values()].some((v) => v.serving))
        .map((m) => m.name);
      const unloaded = await Promise.race([
        this.repository.unloadAll().then(() => {
          for (const n of names) this.auditModel('model_unload', n);
          return true;
        }),
        new Promise<false>((r) => (timer = setTimeout(() => r(false), this.opts.exitTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (!unloaded) this.log.warn(`models still draining after ${this.opts.exitTimeoutMs} ms; exiting anyway`);
      this.sharedMemory.close();
      this.cluster.close();
      await this.metricsEndpoint?.close();
      this.log.info('server stopped');
      this.security.audit?.record({ event: 'server_stop', reason: how === 'forced' ? 'signal; in-flight calls cancelled' : 'signal' });
      await this.security.close();
    })();
    return this.stopping;
  }
}
