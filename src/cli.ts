// Entry point: parse flags, start the server, print the model table, stop cleanly on
// SIGINT/SIGTERM (exit 0), and exit 1 at once on a second signal.

import { OptionError, parseCli, usage } from './cli-options.js';
import { createLogger } from './log.js';
import { InferenceServer } from './server.js';
import { Security } from './security/security.js';
import { securityWarnings } from './security/warnings.js';
import { packageVersion } from './package-root.js';

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseCli(process.argv.slice(2));
  } catch (err) {
    if (err instanceof OptionError) {
      process.stderr.write(`error: ${err.message}\n\n${usage}`);
      process.exit(2);
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(usage);
    return;
  }
  const log = createLogger({ format: opts.logFormat, verbose: opts.logVerbose > 0 });
  for (const flag of opts.ignored) log.warn(`--${flag} is accepted for tritonserver compatibility but has no effect yet`);

  // A safety net: a bug that leaks a rejection is logged, it does not take the server down.
  process.on('unhandledRejection', (reason) =>
    log.error('unhandled rejection (a bug; the server keeps serving)', { error: String(reason instanceof Error ? reason.stack : reason) }),
  );
  let security: Security;
  try {
    security = new Security(opts.security, log);
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  for (const w of [...securityWarnings(opts), ...security.warnings]) log.warn(w);
  if (security.modelKeys) log.info(`model keys from ${security.modelKeys.source}: ${security.modelKeys.ids.join(', ')}`);
  security.audit?.record({ event: 'server_start', version: packageVersion(), pid: process.pid, args: redactedArgs(process.argv.slice(2)) });
  const server = new InferenceServer(opts, log, security);
  let signals = 0;
  const onSignal = (sig: string): void => {
    signals++;
    if (signals > 1) {
      log.warn(`second ${sig}: exiting without waiting`);
      process.exit(1);
    }
    log.info(`${sig} received: draining and stopping`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('error while stopping', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // SIGHUP re-reads the access policy and certificates and reopens the audit log.
  process.on('SIGHUP', () => security.reloadAll('SIGHUP'));

  log.info(`model repository ${opts.modelRepository}, control mode ${opts.controlMode}`);
  await server.start();
  if (opts.logFormat === 'json') log.info('models', { models: server.modelStates() });
  else process.stderr.write(`${server.modelTable()}\n`);
  log.info(`ready: ${server.isReady()} (gRPC on ${opts.grpcHost}:${server.port})`);
}

/** Flags for the audit trail, without restricted-protocol values (shared secrets). */
function redactedArgs(args: string[]): string[] {
  return args.map((a) => a.replace(/^(--grpc-restricted-protocol=[^:]*:[^=]*=).*$/s, '$1<redacted>'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
