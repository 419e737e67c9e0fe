// The well-behaved client of the abuse run, in a process of its own so the attacks in the
// bench process do not delay its own event loop: `simple` at concurrency 1 for a given
// time, on its own connection; prints one JSON line with its latency summary.
//   node --import tsx loadtest/abuse-probe.ts ADDRESS DURATION_MS

import { credentials } from '@grpc/grpc-js';
import { GRPCInferenceServiceClient } from '../src/generated/inference/grpc_service.js';
import { simpleRequest } from './bundled-requests.js';
import { closedLoop } from './closed-loop.js';
import { summarize } from './percentiles.js';

const [address, durationMs] = [process.argv[2]!, Number(process.argv[3])];
const client = new GRPCInferenceServiceClient(address, credentials.createInsecure());
const req = simpleRequest(2, 3);
// A short warm-up so connection set-up is not in the figure.
await closedLoop(client, () => req, 1, 0, 20);
const r = await closedLoop(client, () => req, 1, durationMs, 10_000_000);
const s = summarize(r.latenciesMs);
process.stdout.write(
  `${JSON.stringify({ count: s.count, errors: r.errors, firstError: r.firstError ?? '', p50Ms: s.p50Ms, p99Ms: s.p99Ms, maxMs: s.maxMs })}\n`,
);
client.close();
