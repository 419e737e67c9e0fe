// npm run bench -- security: what TLS and the access check cost. The same closed-loop load
// on `simple` at concurrency 1 (per-call overhead shows) and ocr_cls at concurrency 64
// against three servers: plaintext without a policy (today's default), TLS without a
// policy, and TLS with an access policy and an API key on every call. Interleaved
// (A B C A B C ...) and repeated, so the machine's drift falls on every side; one run.
//   npm run bench -- security [--rounds 2 --interval 3000]

import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from './bench-args.js';
import { hashApiKey, newApiKey } from '../src/security/api-key.js';
import { makeCerts } from '../test/helpers/certs.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import type { ConnectionOptions } from './connection.js';
import { cpuSeconds } from './proc-cpu.js';
import { mean, spread, table } from './percentiles.js';
import { measureModels, type StepResult } from './session.js';

const { rounds, interval } = benchArgs({ rounds: 2, interval: 3000 });
const certs = makeCerts();
const dir = mkdtempSync(join(tmpdir(), 'triton-ts-bench-security-'));
const key = newApiKey();
const policy = join(dir, 'policy.yaml');
writeFileSync(
  policy,
  `principals:
  - name: bench
    api_key_sha256: "${hashApiKey(key)}"
    grants:
      - categories: [metadata, model-config, inference, statistics]
        models: ["*"]
`,
);
const tlsFlags = ['--grpc-use-ssl=true', `--grpc-server-cert=${certs.server.cert}`, `--grpc-server-key=${certs.server.key}`];

interface Side {
  name: string;
  flags: string[];
  conn: ConnectionOptions;
}
const sides: Side[] = [
  { name: 'plaintext, no policy', flags: [], conn: {} },
  { name: 'TLS, no policy', flags: tlsFlags, conn: { caFile: certs.ca.cert } },
  {
    name: 'TLS + policy + key',
    flags: [...tlsFlags, `--access-policy=${policy}`],
    conn: { caFile: certs.ca.cert, headers: [`authorization: Bearer ${key}`] },
  },
];

type Measured = StepResult & { clientCpu: number; serverCpu: number };

/** One step, with the CPU the load generator (this process) and the server used, in cores. */
async function measured(pid: number, model: string, concurrency: number, conn: ConnectionOptions, address: string): Promise<Measured> {
  const c0 = process.cpuUsage();
  const s0 = cpuSeconds(pid);
  const t0 = performance.now();
  const [step] = await measureModels(address, [model], [concurrency], interval, { conn });
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { ...step!, clientCpu: (c.user + c.system) / 1e6 / wall, serverCpu: (cpuSeconds(pid) - s0) / wall };
}

async function run(side: Side): Promise<Measured[]> {
  const server = await startServerProcess(['--allow-metrics=false', ...side.flags]);
  try {
    const pid = server.child.pid!;
    return [await measured(pid, 'simple', 1, side.conn, server.address), await measured(pid, 'ocr_cls', 64, side.conn, server.address)];
  } finally {
    await server.stop();
  }
}

const results = new Map<string, Measured[][]>(sides.map((s) => [s.name, []]));
for (let r = 0; r < rounds; r++) {
  for (const side of sides) results.get(side.name)!.push(await run(side));
}
rmSync(dir, { recursive: true, force: true });
rmSync(certs.dir, { recursive: true, force: true });

console.log(
  `TLS and access-check cost: ${rounds} rounds interleaved (${sides.map((s) => s.name).join(' / ')}), ${interval} ms per step; mean of the rounds, spread = max/min - 1 across rounds`,
);
const rows: Array<Array<string | number>> = [];
for (const [i, model] of [
  [0, 'simple c=1'],
  [1, 'ocr_cls c=64'],
] as const) {
  const base = mean(results.get(sides[0]!.name)!.map((r) => r[i]!.throughput));
  for (const side of sides) {
    const runs = results.get(side.name)!.map((r) => r[i]!);
    const tput = mean(runs.map((r) => r.throughput));
    rows.push([
      model,
      side.name,
      tput,
      mean(runs.map((r) => r.p50Ms)),
      mean(runs.map((r) => r.p99Ms)),
      spread(runs.map((r) => r.throughput)),
      runs.reduce((a, r) => a + r.errors, 0),
      `x${(tput / base).toFixed(3)}`,
      mean(runs.map((r) => r.clientCpu)).toFixed(2),
      mean(runs.map((r) => r.serverCpu)).toFixed(2),
    ]);
  }
}
console.log(table(['load', 'server', 'infer/s', 'p50 ms', 'p99 ms', 'spread', 'errors', 'vs plaintext', 'client cores', 'server cores'], rows));
console.log(
  `client and server cores: CPU time over wall time during the step (the machine has ${availableParallelism()}); the load generator runs in this process`,
);
