// npm run bench -- shm: ocr_cls at concurrency 64 with its tensors in the gRPC message vs
// in system shared memory (Triton's extension; inputs read from /dev/shm, outputs written
// there), over gRPC and HTTP, against one server. Interleaved and repeated; one run. CPU
// of the load generator and of the server in cores, so the saving shows where it lands.
//   npm run bench -- shm [--rounds 3 --interval 3000 --concurrency 64]

import { availableParallelism } from 'node:os';
import { benchArgs } from './bench-args.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { mean, spread, table } from './percentiles.js';
import { LoadSession, type StepResult } from './session.js';
import { cpuSeconds } from './proc-cpu.js';

const { rounds, interval, concurrency } = benchArgs({ rounds: 3, interval: 3000, concurrency: 64 });

const ways = [
  { name: 'gRPC, tensors in the message', protocol: 'grpc', sharedMemory: 'none' },
  { name: 'gRPC, system shared memory', protocol: 'grpc', sharedMemory: 'system' },
  { name: 'HTTP binary, in the body', protocol: 'http', sharedMemory: 'none' },
  { name: 'HTTP, system shared memory', protocol: 'http', sharedMemory: 'system' },
] as const;

const server = await startServerProcess(['--allow-metrics=false', '--allow-client-shm=true']);
const rows = new Map<string, Array<StepResult & { serverCores: number }>>(ways.map((w) => [w.name, []]));
try {
  const pid = server.child.pid!;
  for (let round = 0; round < rounds; round++) {
    for (const w of ways) {
      const url = w.protocol === 'grpc' ? server.address : `127.0.0.1:${server.httpPort}`;
      const s = await new LoadSession(url, 'ocr_cls', '', {
        protocol: w.protocol,
        sharedMemory: w.sharedMemory,
        connections: w.protocol === 'grpc' ? 1 : concurrency,
      }).init({ batchSize: 1, shapes: {}, data: 'random' });
      try {
        await s.warmUp(concurrency);
        const c0 = cpuSeconds(pid);
        const t0 = performance.now();
        const r = await s.measure({ mode: 'concurrency', level: concurrency }, interval, 10_000_000);
        const serverCores = (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
        if (r.errors > 0) throw new Error(`${w.name}: ${r.errors} errors: ${r.firstError}`);
        rows.get(w.name)!.push({ ...r, serverCores });
      } finally {
        await s.close();
      }
    }
  }
} finally {
  await server.stop();
}

console.log(
  `ocr_cls ([1,3,48,192] FP32, 110 KB in, 8 B out) at c${concurrency}, ${availableParallelism()} cores, one server, ${rounds} rounds interleaved, ` +
    `${interval} ms per step; cpu in cores; spread = max/min - 1 of infer/s`,
);
const base = (name: string) => mean(rows.get(name)!.map((r) => r.throughput));
console.log(
  table(
    ['transport', 'infer/s', 'p50 ms', 'p99 ms', 'client cpu', 'server cpu', 'spread', 'vs in-message'],
    ways.map((w) => {
      const xs = rows.get(w.name)!;
      const rate = mean(xs.map((x) => x.throughput));
      const ref = base(w.protocol === 'grpc' ? ways[0].name : ways[2].name);
      return [
        w.name,
        rate,
        mean(xs.map((x) => x.p50Ms)),
        mean(xs.map((x) => x.p99Ms)),
        mean(xs.map((x) => x.clientCores)),
        mean(xs.map((x) => x.serverCores)),
        spread(xs.map((x) => x.throughput)),
        `x${(rate / ref).toFixed(3)}`,
      ];
    }),
  ),
);
