// Entry point: parse flags, build and start the server (src/boot.ts), stop cleanly on
// SIGINT/SIGTERM (exit 0), exit 1 at once on a second signal, exit 2 on bad flags or
// security files. With --server-processes above 1 this process is the primary and the
// workers it forks run this file again as cluster workers (src/cluster/).

import cluster from 'node:cluster';
import { OptionError, parseCli, usage, type CliOptions } from './cli-options.js';
import { createLogger, type Logger } from './log.js';
import { build, start, startPrimary, StartupRefused, type Booted } from './boot.js';
import { WorkerLink } from './cluster/worker-link.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let opts;
  try {
    opts = parseCli(args);
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

  // A safety net: a bug that leaks a rejection is logged, it does not take the server down.
  process.on('unhandledRejection', (reason) =>
    log.error('unhandled rejection (a bug; the server keeps serving)', { error: String(reason instanceof Error ? reason.stack : reason) }),
  );
  if (cluster.isPrimary && opts.serverProcesses > 1) return primaryMain(opts, log);
  let booted: Booted;
  try {
    booted = build(opts, log, args, process.env, cluster.isWorker ? new WorkerLink() : undefined);
  } catch (err) {
    if (!(err instanceof StartupRefused)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  const { server, security } = booted;
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
  if (cluster.isWorker) {
    // A worker stops when its primary says so (SIGTERM; a repeat, as from a signal to the whole
    // group, changes nothing: forcing is the primary's) or is gone; Ctrl-C reaches the primary.
    process.on('SIGINT', () => undefined);
    process.once('SIGTERM', () => {
      process.on('SIGTERM', () => undefined);
      onSignal('SIGTERM');
    });
    process.on('disconnect', () => signals === 0 && onSignal('disconnect from the primary'));
  } else {
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
  }
  // SIGHUP re-reads the access policy and certificates and reopens the audit log.
  process.on('SIGHUP', () => security.reloadAll('SIGHUP'));
  await start(server, opts, log, (table) => process.stderr.write(`${table}\n`));
}

/** --server-processes: this process forks the workers and drains them on a signal. */
async function primaryMain(opts: Readonly<CliOptions>, log: Logger): Promise<void> {
  let primary: Awaited<ReturnType<typeof startPrimary>>;
  // A worker that cannot start (a port in use, a bad key) ends the whole server with its code.
  const fatal = (code: number): void => {
    const exit = (): never => process.exit(code === 0 ? 1 : code);
    if (!primary) exit();
    else void primary.stop().finally(exit);
  };
  try {
    primary = await startPrimary(opts, log, fatal);
  } catch (err) {
    if (!(err instanceof StartupRefused)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  let signals = 0;
  const onSignal = (sig: string): void => {
    if (++signals > 1) {
      log.warn(`second ${sig}: ending every server process without waiting`);
      primary.kill();
      process.exit(1);
    }
    log.info(`${sig} received: draining and stopping ${opts.serverProcesses} server processes`);
    primary.stop().then(
      (code) => process.exit(code),
      (err: unknown) => {
        log.error('error while stopping', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGHUP', () => primary.reload());
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
