// npm run bench -- balancer: this server behind a real L7 balancer (haproxy from Debian,
// `proto h2` to the servers, health checks on /v2/health/ready, which --health-drain-secs
// turns 400 at SIGTERM). In one run: simple at c16 direct, through haproxy to one server
// and to two; then under load, one server drained (SIGTERM) and one added, counting the
// requests that failed (both must be 0). Installs haproxy with apt-get when missing; says
// so and exits 0 where it cannot.
//   npm run bench -- balancer [--interval 3000]

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServerProcess, type ServerProcess } from '../test/helpers/server-process.js';
import { table } from './percentiles.js';
import { cpuSeconds } from './proc-cpu.js';
import { LoadSession, type StepResult } from './session.js';

const { values: v } = parseArgs({ args: process.argv.slice(3), options: { interval: { type: 'string', default: '3000' } } });
const interval = Number(v.interval);

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

const ports = { lb: await freePort(), aGrpc: await freePort(), aHttp: await freePort(), bGrpc: await freePort(), bHttp: await freePort() };
const dir = mkdtempSync(join(tmpdir(), 'tts-haproxy-'));
const cfg = join(dir, 'haproxy.cfg');
writeFileSync(
  cfg,
  `global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
frontend grpc
  bind 127.0.0.1:${ports.lb} proto h2
  default_backend servers
backend servers
  balance roundrobin
  option httpchk GET /v2/health/ready
  http-check expect status 200
  default-server inter 200 fall 1 rise 2
  server a 127.0.0.1:${ports.aGrpc} proto h2 check port ${ports.aHttp} check-proto h1
  server b 127.0.0.1:${ports.bGrpc} proto h2 check port ${ports.bHttp} check-proto h1
`,
);
const server = (grpc: number, http: number) =>
  startServerProcess([
    '--model-control-mode=explicit',
    '--load-model=simple',
    `--grpc-port=${grpc}`,
    `--http-port=${http}`,
    '--allow-metrics=false',
    '--health-drain-secs=2',
  ]);
let lb: ChildProcess | undefined;
let a: ServerProcess | undefined;
let b: ServerProcess | undefined;
const rows: Array<Array<string | number>> = [];
let lbCpu = { at: performance.now(), cpu: 0 };
/** haproxy's CPU since the last row, in cores: the balancer's own cost. */
const balancerCores = (): number => {
  const now = { at: performance.now(), cpu: lb?.pid ? cpuSeconds(lb.pid) : 0 };
  const cores = (now.cpu - lbCpu.cpu) / ((now.at - lbCpu.at) / 1000);
  lbCpu = now;
  return cores;
};
const row = (what: string, r: StepResult) =>
  rows.push([what, r.throughput, r.p50Ms, r.p99Ms, r.errors, r.clientCores, what.startsWith('haproxy') ? balancerCores() : '-']);
const measure = async (url: string, ms: number): Promise<StepResult> => {
  const s = await new LoadSession(url, 'simple', '', { connections: 4 }).init({ batchSize: 1, shapes: {}, data: 'random' });
  try {
    await s.warmUp(16);
    return await s.measure({ mode: 'concurrency', level: 16 }, ms, 10_000_000);
  } finally {
    await s.close();
  }
};
/** Resolves once the balancer sends calls to both servers (each answered some of 40). */
const bothServing = async (): Promise<void> => {
  for (let i = 0; i < 100; i++) {
    const r = await measure(`127.0.0.1:${ports.lb}`, 300).catch(() => undefined);
    if (r && r.errors === 0) {
      const served = await Promise.all(
        [a, b].map(async (s) =>
          s ? Number(/"success":\{"count":(\d+)/.exec(await (await fetch(`http://127.0.0.1:${s.httpPort}/v2/models/simple/stats`)).text())?.[1] ?? 0) : 0,
        ),
      );
      if (served.every((n) => n > 0)) return;
    }
  }
  throw new Error('the balancer never sent calls to both servers');
};
try {
  a = await server(ports.aGrpc, ports.aHttp);
  lb = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
  row('direct to one server', await measure(a.address, interval));
  // Until the balancer's checks mark a up (rise 2 × 200 ms), it answers 503.
  for (let i = 0; i < 100 && !(await measure(`127.0.0.1:${ports.lb}`, 100).catch(() => undefined)); i++);
  balancerCores();
  row('haproxy, one server (b down)', await measure(`127.0.0.1:${ports.lb}`, interval));
  b = await server(ports.bGrpc, ports.bHttp);
  await bothServing();
  balancerCores();
  row('haproxy, two servers', await measure(`127.0.0.1:${ports.lb}`, interval));
  // One server drained under load: SIGTERM a second in; it reports not ready, the balancer takes it out.
  const drainLoad = measure(`127.0.0.1:${ports.lb}`, 3 * interval);
  await new Promise((r) => setTimeout(r, interval / 2));
  const bExit = b.stop('SIGTERM');
  const drained = await drainLoad;
  await bExit;
  b = undefined;
  row('haproxy, b drained under load', drained);
  // One server added under load: it takes traffic once ready.
  const addLoad = measure(`127.0.0.1:${ports.lb}`, 3 * interval);
  b = await server(ports.bGrpc, ports.bHttp);
  const added = await addLoad;
  const bServed = Number(/"success":\{"count":(\d+)/.exec(await (await fetch(`http://127.0.0.1:${b.httpPort}/v2/models/simple/stats`)).text())?.[1] ?? 0);
  row(`haproxy, b added under load (b answered ${bServed})`, added);
} finally {
  lb?.kill('SIGTERM');
  await Promise.all([a?.stop(), b?.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `simple at c16 (4 connections), haproxy ${String(execFileSync('haproxy', ['-v'])).split('\n')[0]}, ${interval} ms per step (3x for the drain and the scale-up)`,
);
console.log(table(['setup', 'infer/s', 'p50 ms', 'p99 ms', 'failed', 'client cpu', 'haproxy cpu'], rows));
// The drain and the scale-up must lose nothing: a failure is the bench's failure, not a number in a table.
const lost = rows.filter((r) => String(r[0]).includes('under load') && Number(r[4]) > 0);
if (lost.length > 0) {
  console.error(`requests failed during ${lost.map((r) => r[0]).join(' and ')}`);
  process.exitCode = 1;
}
