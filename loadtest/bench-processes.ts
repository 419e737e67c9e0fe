// npm run bench -- processes: one server process vs several (--server-processes) under the
// same load (the load generator, 4 connections so the primary can spread them), simple at
// c16 and ocr_cls at c64. Interleaved and repeated; one run. The server's CPU per request
// (all its processes, from /proc) gives the estimate for a machine with more cores.
//   npm run bench -- processes [--rounds 2 --interval 3000 --processes 2]

import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { startServerProcess } from '../test/helpers/server-process.js';
import { mean, spread, table } from './percentiles.js';
import { LoadSession, type StepResult } from './session.js';
import { treeCpuSeconds } from './proc-cpu.js';

const { values: v } = parseArgs({
  args: process.argv.slice(3),
  options: { rounds: { type: 'string', default: '2' }, interval: { type: 'string', default: '3000' }, processes: { type: 'string', default: '2' } },
});
const rounds = Number(v.rounds);
const interval = Number(v.interval);
const many = Number(v.processes);

const loads = [
  { model: 'simple', concurrency: 16 },
  { model: 'ocr_cls', concurrency: 64 },
];
const setups = [1, many];
const rows = new Map<string, Array<StepResult & { serverCores: number }>>();
for (let round = 0; round < rounds; round++) {
  for (const n of setups) {
    const server = await startServerProcess(['--allow-metrics=true', `--server-processes=${n}`]);
    try {
      if (n > 1) await server.waitForLine(new RegExp(`ready: true \\(all ${n} server processes\\)`));
      for (const load of loads) {
        const s = await new LoadSession(server.address, load.model, '', { workers: 1, connections: 4 }).init({ batchSize: 1, shapes: {}, data: 'random' });
        try {
          await s.warmUp(load.concurrency);
          const c0 = treeCpuSeconds(server.child.pid!);
          const t0 = performance.now();
          const r = await s.measure({ mode: 'concurrency', level: load.concurrency }, interval, 10_000_000);
          const serverCores = (treeCpuSeconds(server.child.pid!) - c0) / ((performance.now() - t0) / 1000);
          if (r.errors > 0) throw new Error(`${n} process(es), ${load.model}: ${r.errors} errors: ${r.firstError}`);
          const key = `${load.model} c${load.concurrency}|${n}`;
          rows.set(key, [...(rows.get(key) ?? []), { ...r, serverCores }]);
        } finally {
          await s.close();
        }
      }
    } finally {
      await server.stop();
    }
  }
}

const cores = availableParallelism();
console.log(
  `one server process vs ${many}, ${cores} cores, ${rounds} rounds interleaved, ${interval} ms per step; cpu in cores; spread = max/min - 1 of infer/s`,
);
const lines: Array<Array<string | number>> = [];
for (const load of loads) {
  const label = `${load.model} c${load.concurrency}`;
  const base = mean(rows.get(`${label}|1`)!.map((x) => x.throughput));
  for (const n of setups) {
    const xs = rows.get(`${label}|${n}`)!;
    const rate = mean(xs.map((x) => x.throughput));
    const serverCores = mean(xs.map((x) => x.serverCores));
    lines.push([
      label,
      n,
      rate,
      mean(xs.map((x) => x.p50Ms)),
      mean(xs.map((x) => x.p99Ms)),
      mean(xs.map((x) => x.clientCores)),
      serverCores,
      (serverCores / rate) * 1000,
      spread(xs.map((x) => x.throughput)),
      `x${(rate / base).toFixed(3)}`,
    ]);
  }
}
console.log(table(['load', 'processes', 'infer/s', 'p50 ms', 'p99 ms', 'client cpu', 'server cpu', 'server cpu ms/req', 'spread', 'vs 1 process'], lines));
