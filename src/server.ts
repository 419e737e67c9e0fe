// Composition root: builds the registry, repository, replica pools and the gRPC
// frontend, and owns startup and graceful shutdown.

import { GrpcFrontend } from './frontend/grpc-server.js';
import type { ModelControlMode, ServiceContext } from './frontend/context.js';
import type { Logger } from './log.js';
import { packageVersion } from './package-root.js';
import { ModelRegistry } from './model/registry.js';
import { ModelRepository } from './repository/model-repository.js';
import { systemClock } from './clock.js';

export interface ServerOptions {
  modelRepository: string;
  grpcHost: string;
  grpcPort: number;
  controlMode: ModelControlMode;
  /** Models to load at start in explicit mode; '*' loads all. */
  loadModels: readonly string[];
  strictReadiness: boolean;
  autoComplete: boolean;
  defaultMaxBatchSize: number;
  maxMessageBytes: number;
  /** How long shutdown waits for in-flight calls before cancelling them. */
  exitTimeoutMs: number;
  /** How long shutdown reports NOT_SERVING, still answering, before it stops accepting calls. */
  drainMs: number;
  /** Test-only fault switch (request parameter `test_fault`); on only with TRITON_TS_TEST_FAULTS=1. */
  testFaults: boolean;
}

export const SERVER_NAME = 'triton-ts';


const clock = systemClock;

export class InferenceServer {
  readonly registry = new ModelRegistry();
  readonly repository: ModelRepository;
  private readonly frontend: GrpcFrontend;
  private live = false;
  private started = false;
  private stopping: Promise<void> | undefined;
  port = 0;

  constructor(private readonly opts: ServerOptions, private readonly log: Logger) {
    this.repository = new ModelRepository(
      { root: opts.modelRepository, autoComplete: opts.autoComplete, defaultMaxBatchSize: opts.defaultMaxBatchSize, testFaults: opts.testFaults },
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
      extensions: ['model_repository', 'model_configuration', 'statistics', 'parameters'],
      testFaults: opts.testFaults,
      isLive: () => this.live,
      isReady: () => this.isReady(),
      modelsChanged: () => this.frontend.syncHealth(),
    };
    this.frontend = new GrpcFrontend(ctx, { host: opts.grpcHost, port: opts.grpcPort, maxMessageBytes: opts.maxMessageBytes });
  }

  /** Listens first (live, not ready, so probes answer during loading), then loads models. */
  async start(): Promise<void> {
    this.port = await this.frontend.listen();
    this.live = true;
    this.frontend.syncHealth();
    this.log.info(`started GRPCInferenceService at ${this.opts.grpcHost}:${this.port}`);
    let names: string[];
    if (this.opts.controlMode === 'explicit') {
      names = this.opts.loadModels.includes('*') ? this.repository.modelNames() : [...this.opts.loadModels];
    } else {
      names = this.repository.modelNames();
    }
    await this.repository.loadAll(names);
    this.started = true;
    this.frontend.syncHealth();
  }

  isReady(): boolean {
    if (!this.live || !this.started || this.stopping) return false;
    if (!this.opts.strictReadiness) return true;
    for (const m of this.registry.all()) {
      if (m.reason === 'unloaded') continue;
      if (m.state === 'LOADING' || m.state === 'UNAVAILABLE') return false;
      const versions = [...m.versions.values()];
      if (versions.length > 0 && !versions.some((v) => v.state === 'READY')) return false;
    }
    return true;
  }

  /** tritonserver's startup table: one row per model version with its state. */
  modelTable(): string {
    const rows: string[][] = [['Model', 'Version', 'Status']];
    for (const m of this.registry.all()) {
      if (m.versions.size === 0) rows.push([m.name, '-', `${m.state ?? 'UNAVAILABLE'}${m.reason ? `: ${m.reason}` : ''}`]);
      for (const v of [...m.versions.values()].sort((a, b) => a.version - b.version)) {
        rows.push([m.name, String(v.version), `${v.state}${v.reason ? `: ${v.reason}` : ''}`]);
      }
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const line = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
    const fmt = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
    return [line, fmt(rows[0]!), line, ...rows.slice(1).map(fmt), line].join('\n');
  }

  /**
   * Graceful stop: report NOT_SERVING for drainMs, stop accepting calls, let in-flight
   * calls finish (cancel them after exitTimeoutMs), then unload every model.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.frontend.drain();
      if (this.opts.drainMs > 0) await new Promise((r) => setTimeout(r, this.opts.drainMs));
      const how = await this.frontend.shutdown(this.opts.exitTimeoutMs);
      this.live = false;
      if (how === 'forced') this.log.warn(`in-flight calls still running after ${this.opts.exitTimeoutMs} ms were cancelled`);
      await this.repository.unloadAll();
      this.log.info('server stopped');
    })();
    return this.stopping;
  }
}
