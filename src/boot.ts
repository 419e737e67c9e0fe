// Builds and starts a server from parsed flags: security first (start-up fails on a bad
// file), then the server, its start-up table and the "ready:" line. src/cli.ts wraps it
// with signals and exit codes; tests call it to run a server inside their own process.

import type { CliOptions } from './cli-options.js';
import type { Logger } from './log.js';
import { packageVersion } from './package-root.js';
import { Security } from './security/security.js';
import { securityWarnings } from './security/warnings.js';
import { InferenceServer } from './server.js';
import { metricsEndpointFor } from './security/http-admission.js';
import type { ClusterLink } from './cluster/link.js';
import { ClusterPrimary } from './cluster/primary.js';
import { aggregateMetrics, metricsContentType } from './metrics/cluster-metrics.js';
import type { MetricsEndpoint } from './metrics/http-endpoint.js';

/** Security settings that failed their checks at start: the CLI exits 2 with the message. */
export class StartupRefused extends Error {
  override readonly name = 'StartupRefused';
}

export interface Booted {
  server: InferenceServer;
  security: Security;
}

/**
 * Builds the server without starting it. `args` are the flags as given, for the audit
 * trail (restricted-protocol values redacted). Throws StartupRefused when the security
 * settings are bad (the caller exits 2); anything else thrown is a bug (exit 1).
 */
export function build(opts: Readonly<CliOptions>, log: Logger, args: readonly string[], env: NodeJS.ProcessEnv = process.env, cluster?: ClusterLink): Booted {
  for (const flag of opts.ignored) {
    // HTTP requests are answered on the event loop that decodes them; there is no HTTP thread pool to size.
    if (flag === 'http-thread-count')
      log.info('--http-thread-count is accepted for tritonserver compatibility; HTTP is served on the event loop, so it sizes nothing');
    else log.warn(`--${flag} is accepted for tritonserver compatibility but has no effect yet`);
  }
  let security: Security;
  try {
    security = new Security(opts.security, log, env);
  } catch (err) {
    throw new StartupRefused(err instanceof Error ? err.message : String(err));
  }
  for (const w of [...securityWarnings(opts), ...security.warnings]) log.warn(w);
  if (security.modelKeys) log.info(`model keys from ${security.modelKeys.source}: ${security.modelKeys.ids.join(', ')}`);
  security.audit?.record({ event: 'server_start', version: packageVersion(), pid: process.pid, args: redactedArgs(args) });
  return { server: new InferenceServer(opts, log, security, cluster), security };
}

/** The primary of --server-processes: the workers, the summed metrics scrape, the signals. */
export interface Primary {
  /** Drains every worker; resolves with the exit code (0 when all of them exited 0). */
  stop(): Promise<number>;
  kill(): void;
  reload(): void;
}

/** Starts the primary: it serves no requests (cluster/primary.ts). Throws StartupRefused on bad security files. */
export async function startPrimary(opts: Readonly<CliOptions>, log: Logger, fatal: (code: number) => void): Promise<Primary> {
  let security: Security;
  try {
    // Model keys are the workers' business: the primary loads no model (and leaves --model-key-env in place for them).
    security = new Security({ ...opts.security, modelKeys: undefined, requireEncryptedModels: false }, log);
  } catch (err) {
    throw new StartupRefused(err instanceof Error ? err.message : String(err));
  }
  const primary = new ClusterPrimary(opts.serverProcesses, log, fatal);
  primary.start();
  let metrics: MetricsEndpoint | undefined;
  if (opts.allowMetrics) {
    const source = { text: async () => aggregateMetrics(await primary.metrics()), contentType: () => metricsContentType };
    metrics = metricsEndpointFor(source, opts, security);
    const port = await metrics.listen(opts.metricsHost, opts.metricsPort);
    log.info(
      `started metrics service at ${opts.metricsHost}:${port} (${security.metricsTls ? 'HTTPS' : 'HTTP'}, summed over ${opts.serverProcesses} server processes)`,
    );
  }
  security.watch();
  return {
    stop: async () => {
      const code = await primary.stop();
      await metrics?.close();
      await security.close();
      log.info(`server stopped (${opts.serverProcesses} server processes)`);
      return code;
    },
    kill: () => primary.kill(),
    reload: () => {
      security.reloadAll('SIGHUP');
      primary.signal('SIGHUP');
    },
  };
}

/** Listens, loads the models, prints tritonserver's start-up table and the "ready:" line. */
export async function start(server: InferenceServer, opts: Readonly<CliOptions>, log: Logger, writeTable: (table: string) => void): Promise<void> {
  log.info(`model repository ${opts.modelRepository}, control mode ${opts.controlMode}`);
  await server.start();
  if (opts.logFormat === 'json') log.info('models', { models: server.modelStates() });
  else writeTable(server.modelTable());
  // A worker of --server-processes says so; the primary's line says when all of them are ready.
  const worker = process.env['TRITON_TS_WORKER_INDEX'];
  if (worker === undefined) log.info(`ready: ${server.isReady()} (gRPC on ${opts.grpcHost}:${server.port})`);
  else log.info(`server process ${worker} started (gRPC on ${opts.grpcHost}:${server.port})`);
}

const SECRET_FLAG = /^--(?:grpc-restricted-protocol|http-restricted-api)$/;

/** Flags for the audit trail, without restricted-protocol values (shared secrets), in `--flag=v` and `--flag v` forms. */
export function redactedArgs(args: readonly string[]): string[] {
  return args.map((a, i) =>
    i > 0 && SECRET_FLAG.test(args[i - 1]!)
      ? a.replace(/^([^:]*:[^=]*=).*$/s, '$1<redacted>')
      : a.replace(/^(--(?:grpc-restricted-protocol|http-restricted-api)=[^:]*:[^=]*=).*$/s, '$1<redacted>'),
  );
}
