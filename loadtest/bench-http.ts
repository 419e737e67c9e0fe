// npm run bench -- http: the same closed-loop load over gRPC, HTTP with JSON tensors and
// HTTP with binary tensor data, against one server: `simple` at concurrency 1 (per-call
// cost) and ocr_cls at 64 (throughput). Interleaved (gRPC, JSON, binary, gRPC, ...) and
// repeated; one run. The HTTP client is node:http with a keep-alive agent, one connection
// per concurrent caller, in this process, on the same cores as the server.
//   npm run bench -- http [--rounds 3 --interval 3000]

import { Agent, request } from 'node:http';
import { benchArgs } from './bench-args.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { mean, spread, summarize, table } from './percentiles.js';
import { measureModels } from './session.js';

const { rounds, interval } = benchArgs({ rounds: 3, interval: 3000 });

interface Load {
  model: string;
  concurrency: number;
  json: () => Buffer;
  binary: () => { body: Buffer; headerLength: number };
}

function simpleLoad(): Load {
  const data = Array.from({ length: 16 }, (_, i) => i);
  const inputs = (extra: (i: number) => object) => ['INPUT0', 'INPUT1'].map((name, i) => ({ name, shape: [1, 16], datatype: 'INT32', ...extra(i) }));
  const raw = Buffer.from(new Int32Array(data).buffer);
  return {
    model: 'simple',
    concurrency: 1,
    json: () => Buffer.from(JSON.stringify({ inputs: inputs(() => ({ data })) })),
    binary: () =>
      binaryBody(
        inputs(() => ({ parameters: { binary_data_size: raw.length } })),
        [raw, raw],
      ),
  };
}

function ocrLoad(): Load {
  const n = 3 * 48 * 192;
  const values = Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000);
  const raw = Buffer.from(new Float32Array(values).buffer);
  const input = (extra: object) => [{ name: 'x', shape: [1, 3, 48, 192], datatype: 'FP32', ...extra }];
  return {
    model: 'ocr_cls',
    concurrency: 64,
    json: () => Buffer.from(JSON.stringify({ inputs: input({ data: values }) })),
    binary: () => binaryBody(input({ parameters: { binary_data_size: raw.length } }), [raw]),
  };
}

function binaryBody(inputs: object[], raws: Buffer[]): { body: Buffer; headerLength: number } {
  const head = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true } }));
  return { body: Buffer.concat([head, ...raws]), headerLength: head.length };
}

/** A closed loop of `concurrency` callers for `ms`; throughput and latency as the client sees them. */
async function httpLoop(port: number, load: Load, binary: boolean, ms: number): Promise<{ throughput: number; p50Ms: number; p99Ms: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: load.concurrency });
  const payload = binary ? load.binary() : { body: load.json(), headerLength: undefined };
  const headers: Record<string, string> = {
    'content-type': binary ? 'application/octet-stream' : 'application/json',
    'content-length': String(payload.body.length),
  };
  if (payload.headerLength !== undefined) headers['inference-header-content-length'] = String(payload.headerLength);
  const one = () =>
    new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/v2/models/${load.model}/infer`, agent, headers }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('error', () => resolve(false));
      req.end(payload.body);
    });
  for (let i = 0; i < load.concurrency * 4; i++) await one();
  const samples: number[] = [];
  let errors = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: load.concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        if (await one()) samples.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  agent.destroy();
  const s = summarize(samples);
  return { throughput: samples.length / (ms / 1000), p50Ms: s.p50Ms, p99Ms: s.p99Ms, errors };
}

const server = await startServerProcess(['--allow-metrics=false']);
const loads = [simpleLoad(), ocrLoad()];
const sides = ['gRPC', 'HTTP JSON', 'HTTP binary'] as const;
const results = new Map<string, Array<{ throughput: number; p50Ms: number; p99Ms: number; errors: number }>>();
try {
  for (let r = 0; r < rounds; r++) {
    for (const load of loads) {
      for (const side of sides) {
        const key = `${load.model} c=${load.concurrency}|${side}`;
        const res =
          side === 'gRPC'
            ? (await measureModels(server.address, [load.model], [load.concurrency], interval))[0]!
            : await httpLoop(server.httpPort, load, side === 'HTTP binary', interval);
        (results.get(key) ?? results.set(key, []).get(key)!).push(res);
      }
    }
  }
} finally {
  await server.stop();
}

console.log(`gRPC vs HTTP JSON vs HTTP binary: ${rounds} rounds interleaved, ${interval} ms per step; mean of the rounds, spread = max/min - 1 of throughput`);
const rows: Array<Array<string | number>> = [];
for (const load of loads) {
  const label = `${load.model} c=${load.concurrency}`;
  const base = mean(results.get(`${label}|gRPC`)!.map((x) => x.throughput));
  for (const side of sides) {
    const runs = results.get(`${label}|${side}`)!;
    const t = mean(runs.map((x) => x.throughput));
    rows.push([
      label,
      side,
      t,
      mean(runs.map((x) => x.p50Ms)),
      mean(runs.map((x) => x.p99Ms)),
      spread(runs.map((x) => x.throughput)),
      runs.reduce((a, x) => a + x.errors, 0),
      `x${(t / base).toFixed(3)}`,
    ]);
  }
}
console.log(table(['load', 'transport', 'infer/s', 'p50 ms', 'p99 ms', 'spread', 'errors', 'vs gRPC'], rows));
