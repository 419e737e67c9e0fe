// npm run bench -- memory: does memory grow per request? RSS of the server process after
// the first 10k requests and after 100k, at concurrency 64 on `simple` (per-request
// overhead dominates there). Growth over 10 % would mean a leak.
//   npm run bench -- memory [--total 100000 --first 10000 --concurrency 64]

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { GRPCInferenceServiceClient } from '../src/generated/inference/grpc_service.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { simpleRequest } from './bundled-requests.js';
import { closedLoop, type Client } from './closed-loop.js';

const { values: v } = parseArgs({
  args: process.argv.slice(3),
  options: {
    total: { type: 'string', default: '100000' },
    first: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '64' },
  },
});
const total = Number(v.total);
const first = Number(v.first);
const concurrency = Number(v.concurrency);

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const server = await startServerProcess(['--allow-metrics=false']);
const client: Client = new GRPCInferenceServiceClient(server.address, credentials.createInsecure());
const req = simpleRequest(3, 4);
try {
  const pid = server.child.pid!;
  const start = rssMb(pid);
  const a = await closedLoop(client, () => req, concurrency, 10 * 60_000, first);
  const atFirst = rssMb(pid);
  const b = await closedLoop(client, () => req, concurrency, 10 * 60_000, total - first);
  const atTotal = rssMb(pid);
  const errors = a.errors + b.errors;
  console.log(
    `server RSS: ${start.toFixed(0)} MB at start, ${atFirst.toFixed(0)} MB after ${first} requests, ` +
      `${atTotal.toFixed(0)} MB after ${total} (x${(atTotal / atFirst).toFixed(3)} of the 10k figure; goal within 10 %), ` +
      `concurrency ${concurrency}, ${errors} errors, ${(total / ((a.elapsedMs + b.elapsedMs) / 1000)).toFixed(0)} req/s`,
  );
} finally {
  client.close();
  await server.stop();
}
