// npm run bench -- metrics: what the Prometheus metrics cost. The same closed-loop load on
// `simple` (tiny model, so per-request overhead shows) and ocr_cls against a server with
// --allow-metrics=false and one with metrics on and scraped every second. One run.
//   npm run bench -- metrics [--concurrency 16 --interval 3000]

import { get } from 'node:http';
import { parseArgs } from 'node:util';
import { startServerProcess } from '../test/helpers/server-process.js';
import { table } from './percentiles.js';
import { measureModels, type StepResult } from './session.js';

const { values: v } = parseArgs({
  args: process.argv.slice(3),
  options: {
    concurrency: { type: 'string', default: '16' },
    interval: { type: 'string', default: '3000' },
  },
});
const levels = [Number(v.concurrency)];
const interval = Number(v.interval);
const models = ['simple', 'ocr_cls'];

async function run(metricsOn: boolean): Promise<{ results: StepResult[]; scrapes: number }> {
  const server = await startServerProcess(metricsOn ? [] : ['--allow-metrics=false']);
  let scrapes = 0;
  let timer: NodeJS.Timeout | undefined;
  if (metricsOn) {
    timer = setInterval(() => {
      get({ host: '127.0.0.1', port: server.metricsPort, path: '/metrics' }, (res) => {
        res.resume();
        res.on('end', () => scrapes++);
      });
    }, 1000);
  }
  try {
    return { results: await measureModels(server.address, models, levels, interval), scrapes };
  } finally {
    clearInterval(timer);
    await server.stop();
  }
}

// Off, on, off, on: the machine drifts, so each side is the mean of two runs.
const runs = [await run(false), await run(true), await run(false), await run(true)];
const mean = (sides: Array<{ results: StepResult[] }>): StepResult[] =>
  sides[0]!.results.map((r, i) => {
    const other = sides[1]!.results[i]!;
    return { ...r, throughput: (r.throughput + other.throughput) / 2, p50Ms: (r.p50Ms + other.p50Ms) / 2, p99Ms: (r.p99Ms + other.p99Ms) / 2 };
  });
const off = { results: mean([runs[0]!, runs[2]!]) };
const on = { results: mean([runs[1]!, runs[3]!]), scrapes: runs[1]!.scrapes + runs[3]!.scrapes };
console.log(
  `metrics off vs on (scraped every second, ${on.scrapes} scrapes), concurrency ${levels[0]}, ${interval} ms per model, mean of two runs each (off, on, off, on)`,
);
console.log(
  table(
    ['model', 'metrics', 'infer/s', 'p50 ms', 'p99 ms', 'on / off'],
    models.flatMap((m) => {
      const a = off.results.find((r) => r.model === m)!;
      const b = on.results.find((r) => r.model === m)!;
      return [
        [m, 'off', a.throughput, a.p50Ms, a.p99Ms, ''],
        [m, 'on', b.throughput, b.p50Ms, b.p99Ms, `x${(b.throughput / a.throughput).toFixed(3)}`],
      ];
    }),
  ),
);
