// The real server on 127.0.0.1 with free ports, waited on through its log lines, not
// sleeps: inside the test process (startServer: fast, for most suites), or as a child
// process running src/cli.ts (startServerProcess: for signals, exit codes and anything
// that must not share the test's process).

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseCli } from '../../src/cli-options.js';
import { createLogger } from '../../src/log.js';
import { build, start } from '../../src/boot.js';
import { LogLines } from './log-lines.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface TestServer {
  port: number;
  /** 0 when HTTP is off. */
  httpPort: number;
  /** 0 when metrics are off. */
  metricsPort: number;
  address: string;
  /** Every line the server logged so far. */
  lines: string[];
  /**
   * Resolves with the first logged line matching `pattern` at index `since` or later
   * (default 0: the whole log so far), rejects after `timeoutMs`.
   */
  waitForLine(pattern: RegExp, timeoutMs?: number, since?: number): Promise<string>;
  /** A graceful stop (SIGTERM for a child), then the exit code (0 in-process). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface ServerProcess extends TestServer {
  child: ChildProcess;
}

const LOCAL = ['--grpc-address=127.0.0.1', '--grpc-port=0', '--metrics-address=127.0.0.1', '--metrics-port=0', '--http-address=127.0.0.1', '--http-port=0'];

/** In-process servers running now: one with `env` must run alone (it changes process.env). */
let running = 0;
let envHeld = false;

/**
 * The server inside this process. `env` is set in process.env while it runs (worker
 * threads copy it when they start) and put back when it stops; a server started while
 * it runs sees it too, so a server with `env` cannot share the process with another.
 */
export async function startServer(args: string[] = [], timeoutMs = 60_000, env: Record<string, string> = {}): Promise<TestServer> {
  const withEnv = Object.keys(env).length > 0;
  if (envHeld || (withEnv && running > 0)) throw new Error('an in-process server with env must run alone; stop the other one first, or use startServerProcess');
  running++;
  envHeld = withEnv;
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const restoreEnv = (): void => {
    running--;
    if (withEnv) envHeld = false;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  const log = new LogLines();
  const all = [...LOCAL, ...args];
  let stopped: Promise<number | null> | undefined;
  let built: ReturnType<typeof build> | undefined;
  try {
    const opts = parseCli(all);
    const logger = createLogger({ format: opts.logFormat, verbose: opts.logVerbose > 0, write: (l) => log.push(l) });
    built = build(opts, logger, all);
    const { server } = built;
    const stop = (): Promise<number | null> => {
      stopped ??= server
        .stop()
        .finally(() => {
          restoreEnv();
          log.end('server stopped');
        })
        .then(() => 0);
      return stopped;
    };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      start(server, opts, logger, (table) => table.split('\n').forEach((l) => log.push(l))),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`server not started within ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    let resolveExited: (code: number | null) => void = () => {};
    const exited = new Promise<number | null>((r) => (resolveExited = r));
    return {
      port: server.port,
      httpPort: server.httpPort,
      metricsPort: server.metricsPort,
      address: `127.0.0.1:${server.port}`,
      lines: log.lines,
      waitForLine: (pattern, ms = timeoutMs, since = 0) => log.waitFor(pattern, ms, since),
      exited,
      stop: () =>
        stop().then((code) => {
          resolveExited(code);
          return code;
        }),
    };
  } catch (err) {
    await built?.server.stop().catch(() => {});
    restoreEnv();
    throw err;
  }
}

/** The server as a child process (src/cli.ts), for signals, exit codes and process-wide state. */
export async function startServerProcess(args: string[] = [], timeoutMs = 60_000, env: Record<string, string> = {}): Promise<ServerProcess> {
  // One process unless the test asks for more (`auto` would fork several on a big machine).
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...LOCAL, '--server-processes=1', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  // If the test process dies without stopping it, the server must not outlive it.
  const killOnExit = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const log = new LogLines();
  createInterface({ input: child.stderr! }).on('line', (l) => log.push(l));
  createInterface({ input: child.stdout! }).on('line', (l) => log.push(l));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      process.off('exit', killOnExit);
      log.end(`server exited (${code})`);
      resolve(code);
    }),
  );
  const waitForLine = (pattern: RegExp, ms = timeoutMs, since = 0): Promise<string> => log.waitFor(pattern, ms, since);
  await waitForLine(/started GRPCInferenceService at 127\.0\.0\.1:(\d+)/);
  await waitForLine(/ready: (true|false)/);
  const port = log.port(/started GRPCInferenceService at/);
  return {
    port,
    httpPort: log.port(/started HTTPService at/),
    metricsPort: log.port(/started metrics service at/),
    address: `127.0.0.1:${port}`,
    child,
    lines: log.lines,
    waitForLine,
    exited,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
