// npm run bench -- balancer: this server behind a real L7 balancer (haproxy from Debian,
// `proto h2` to the servers, health checks on /v2/health/ready, which --health-drain-secs
// turns 400 at SIGTERM). Interleaved over --rounds: simple at c16 direct, through haproxy to
// one server and to two. Then under load: one server drained (SIGTERM) and one added,
// counting the requests that failed (both must be 0, or the bench fails), and a control that
// SIGTERMs a server started with --health-drain-secs=0 (the balancer learns of it only when
// the port closes), to show that the count can see a loss. Installs haproxy with apt-get when
// missing; says so and exits 0 where it cannot.
//   npm run bench -- balancer [--rounds 2] [--interval 3000]

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../test/helpers/server-process.js';
import { benchArgs } from './bench-args.js';
import { table } from './percentiles.js';
import { cpuSeconds } from './proc-cpu.js';
import { LoadSession, type StepResult } from './session.js';

const { rounds, interval } = benchArgs({ rounds: 2, interval: 3000 });

function haveHaproxy(): boolean {
  const found = (): boolean => {
    try {
      execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (found()) return true;
  try {
    execFileSync('sh', ['-c', 'apt-get install -y -qq haproxy >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq haproxy >/dev/null 2>&1)'], {
      stdio: 'ignore',
      timeout: 180_000,
    });
  } catch {
    // reported below
  }
  return found();
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

if (!haveHaproxy()) {
  console.log('bench balancer: haproxy is not installed and apt-get could not install it; skipped');
  process.exit(0);
}

const ports = {
  one: await freePort(),
  two: await freePort(),
  aGrpc: await freePort(),
  aHttp: await freePort(),
  bGrpc: await freePort(),
  bHttp: await freePort(),
};
const dir = mkdtempSync(join(tmpdir(), 'tts-haproxy-'));
const cfg = join(dir, 'haproxy.cfg');
const check = 'check-proto h1 inter 200 fall 1 rise 2';
const serverLine = (name: string, grpc: number, http: number) => `  server ${name} 127.0.0.1:${grpc} proto h2 check port ${http} ${check}`;
// Two frontends, so that one server and two are measured in the same rounds, both servers up.
writeFileSync(
  cfg,
  `global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  option httpchk GET /v2/health/ready
  http-check expect status 200
frontend one
  bind 127.0.0.1:${ports.one} proto h2
  default_backend only_a
frontend two
  bind 127.0.0.1:${ports.two} proto h2
  default_backend a_and_b
backend only_a
${serverLine('a', ports.aGrpc, ports.aHttp)}
backend a_and_b
  balance roundrobin
${serverLine('a', ports.aGrpc, ports.aHttp)}
${serverLine('b', ports.bGrpc, ports.bHttp)}
`,
);
execFileSync('haproxy', ['-c', '-q', '-f', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
const server = (grpc: number, http: number, drainSecs = 2) =>
  startServerProcess([
    '--model-control-mode=explicit',
    '--load-model=simple',
    `--grpc-port=${grpc}`,
    `--http-port=${http}`,
    '--allow-metrics=false',
    `--health-drain-secs=${drainSecs}`,
  ]);
const via = { one: `127.0.0.1:${ports.one}`, two: `127.0.0.1:${ports.two}` };
let lb: ChildProcess | undefined;
let lbGone: Promise<never> | undefined;
let a: ServerProcess | undefined;
let b: ServerProcess | undefined;
/** `p`, unless haproxy exits first. */
const whileBalancing = <T>(p: Promise<T>): Promise<T> => Promise.race([p, lbGone!]);
const measure = async (url: string, ms: number): Promise<StepResult> => {
  const s = await new LoadSession(url, 'simple', '', { connections: 4 }).init({ batchSize: 1, shapes: {}, data: 'random' });
  try {
    await s.warmUp(16);
    return await s.measure({ mode: 'concurrency', level: 16 }, ms, 10_000_000);
  } finally {
    await s.close();
  }
};
/** A step, with haproxy's CPU over it in cores (the balancer's own cost). */
const step = async (url: string, ms: number): Promise<StepResult & { lbCores: number }> => {
  const cpu0 = cpuSeconds(lb!.pid!);
  const t0 = performance.now();
  const r = await whileBalancing(measure(url, ms));
  return { ...r, lbCores: (cpuSeconds(lb!.pid!) - cpu0) / ((performance.now() - t0) / 1000) };
};
const served = async (s: ServerProcess): Promise<number> =>
  Number(/"success":\{"count":(\d+)/.exec(await (await fetch(`http://127.0.0.1:${s.httpPort}/v2/models/simple/stats`)).text())?.[1] ?? 0);
/** Resolves once `url` answers without errors and every server in `servers` has answered more calls than before. */
const allServing = async (url: string, servers: ServerProcess[]): Promise<void> => {
  const before = await Promise.all(servers.map(served));
  // Until haproxy listens and its checks mark the servers up (rise 2 x 200 ms), calls fail.
  for (const deadline = performance.now() + 30_000; performance.now() < deadline; ) {
    const r = await whileBalancing(measure(url, 300).catch(() => undefined));
    if (r && r.errors === 0) {
      const now = await Promise.all(servers.map(served));
      if (now.every((n, k) => n > before[k]!)) return;
    }
  }
  throw new Error(`the balancer at ${url} sent no calls to some of its servers in 30 s`);
};
/** Load through both for `3 × interval`, with `during` run half an interval in. */
const underLoad = async (during: () => Promise<void>): Promise<StepResult> => {
  const load = whileBalancing(measure(via.two, 3 * interval));
  await new Promise((r) => setTimeout(r, interval / 2));
  await during();
  return load;
};

const setups = ['direct to server a', 'haproxy to a', 'haproxy to a and b'] as const;
const results = new Map<string, Array<StepResult & { lbCores: number }>>(setups.map((s) => [s, []]));
const events: Array<Array<string | number>> = [];
try {
  [a, b] = await Promise.all([server(ports.aGrpc, ports.aHttp), server(ports.bGrpc, ports.bHttp)]);
  lb = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
  lbGone = new Promise<never>((_, reject) => lb!.once('exit', (code) => reject(new Error(`haproxy exited (${code})`))));
  lbGone.catch(() => {});
  await allServing(via.one, [a]);
  await allServing(via.two, [a, b]);
  for (let round = 0; round < rounds; round++) {
    results.get(setups[0])!.push({ ...(await measure(a.address, interval)), lbCores: 0 });
    results.get(setups[1])!.push(await step(via.one, interval));
    results.get(setups[2])!.push(await step(via.two, interval));
  }
  // One server drained under load: it reports not ready at SIGTERM, the balancer takes it out, its calls finish.
  let bExit: Promise<unknown> = Promise.resolve();
  const drained = await underLoad(async () => {
    bExit = b!.stop('SIGTERM');
  });
  await bExit;
  events.push(['b drained under load (drain 2 s)', drained.throughput, drained.p99Ms, drained.errors, '-']);
  // One server added under load: it takes traffic once ready.
  let added: ServerProcess | undefined;
  const grew = await underLoad(async () => {
    added = await server(ports.bGrpc, ports.bHttp);
  });
  b = added;
  events.push(['b added under load', grew.throughput, grew.p99Ms, grew.errors, await served(b!)]);
  // The control: a server that closes its port at SIGTERM, with no drain.
  await b!.stop();
  b = await server(ports.bGrpc, ports.bHttp, 0);
  await allServing(via.two, [a, b]);
  let cExit: Promise<unknown> = Promise.resolve();
  const control = await underLoad(async () => {
    cExit = b!.stop('SIGTERM');
  });
  await cExit;
  b = undefined;
  events.push(['control: b stopped with --health-drain-secs=0', control.throughput, control.p99Ms, control.errors, '-']);
} finally {
  lb?.kill('SIGTERM');
  await Promise.all([a?.stop(), b?.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
const spread = (xs: number[]) => `${((Math.max(...xs) / Math.min(...xs) - 1) * 100).toFixed(0)} %`;
const direct = mean(results.get(setups[0])!.map((r) => r.throughput));
console.log(
  `simple at c16 (4 connections), ${String(execFileSync('haproxy', ['-v'])).split('\n')[0]}; ${rounds} interleaved rounds of ${interval} ms, 3 x ${interval} ms for each event`,
);
console.log(
  table(
    ['setup', 'infer/s', 'vs direct', 'spread', 'p50 ms', 'p99 ms', 'failed', 'client cpu', 'haproxy cpu'],
    setups.map((s) => {
      const rs = results.get(s)!;
      const tp = rs.map((r) => r.throughput);
      return [
        s,
        mean(tp).toFixed(0),
        `x${(mean(tp) / direct).toFixed(3)}`,
        spread(tp),
        mean(rs.map((r) => r.p50Ms)).toFixed(3),
        mean(rs.map((r) => r.p99Ms)).toFixed(3),
        rs.reduce((n, r) => n + r.errors, 0),
        mean(rs.map((r) => r.clientCores)).toFixed(2),
        s === setups[0] ? '-' : mean(rs.map((r) => r.lbCores)).toFixed(2),
      ];
    }),
  ),
);
console.log(table(['under load', 'infer/s', 'p99 ms', 'failed', 'answered by b'], events));
// The drain and the scale-up must lose nothing: a failure is the bench's failure, not a number in a table.
const lost = events.slice(0, 2).filter((r) => Number(r[3]) > 0);
if (lost.length > 0) {
  console.error(`requests failed during ${lost.map((r) => r[0]).join(' and ')}`);
  process.exitCode = 1;
}
if (Number(events[2]?.[3]) === 0) console.log('note: the control lost nothing this run, so it could not tell a drain from none');
