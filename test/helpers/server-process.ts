// Starts the real server (src/cli.ts) as a child process on 127.0.0.1 with a free port,
// and waits on its log lines, not on sleeps.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  port: number;
  /** 0 when HTTP is off. */
  httpPort: number;
  /** 0 when metrics are off. */
  metricsPort: number;
  address: string;
  child: ChildProcess;
  /** Every line the server logged so far. */
  lines: string[];
  /**
   * Resolves with the first logged line matching `pattern` at index `since` or later
   * (default 0: the whole log so far), rejects after `timeoutMs`.
   */
  waitForLine(pattern: RegExp, timeoutMs?: number, since?: number): Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export async function startServer(args: string[] = [], timeoutMs = 60_000, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli.ts',
      '--grpc-address=127.0.0.1',
      '--grpc-port=0',
      '--metrics-address=127.0.0.1',
      '--metrics-port=0',
      '--http-address=127.0.0.1',
      '--http-port=0',
      ...args,
    ],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    },
  );
  // If the test process dies without stopping it, the server must not outlive it.
  const killOnExit = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (l: string) => void }> = [];
  const onLine = (line: string): void => {
    lines.push(line);
    if (process.env['SERVER_LOG']) process.stderr.write(`[server] ${line}\n`);
    for (const w of [...waiters]) {
      if (w.pattern.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: child.stderr! }).on('line', onLine);
  createInterface({ input: child.stdout! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      process.off('exit', killOnExit);
      resolve(code);
    }),
  );

  const waitForLine = (pattern: RegExp, ms = timeoutMs, since = 0): Promise<string> => {
    const seen = lines.slice(since).find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line matching ${pattern} within ${ms} ms; log:\n${lines.join('\n')}`)), ms);
      const w = {
        pattern,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      waiters.push(w);
      void exited.then((code) => {
        if (waiters.includes(w)) {
          clearTimeout(timer);
          reject(new Error(`server exited (${code}) before logging ${pattern}; log:\n${lines.join('\n')}`));
        }
      });
    });
  };

  const started = await waitForLine(/started GRPCInferenceService at 127\.0\.0\.1:(\d+)/);
  const port = Number(/ at \S+?:(\d+)/.exec(started)![1]);
  await waitForLine(/ready: (true|false)/);
  const metricsLine = lines.find((l) => /started metrics service at/.test(l));
  const httpLine = lines.find((l) => /started HTTPService at/.test(l));
  return {
    port,
    httpPort: httpLine ? Number(/ at \S+?:(\d+)/.exec(httpLine)![1]) : 0,
    metricsPort: metricsLine ? Number(/ at \S+?:(\d+)/.exec(metricsLine)![1]) : 0,
    address: `127.0.0.1:${port}`,
    child,
    lines,
    waitForLine,
    exited,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
