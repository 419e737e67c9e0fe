// The gRPC transport ceiling alone for ocr_cls-sized requests (1 and 32 rows), against the
// bare grpc-js peer that answers with a canned response: what the server is compared with
// where compute is not the limit (a GPU host). Run by loadtest/gpu-check.sh.
//   node --import tsx loadtest/transport-ceiling.ts

import { availableParallelism } from 'node:os';
import { ModelInferRequest } from '../src/generated/inference/grpc_service.js';
import { ocrRequest } from './bundled-requests.js';
import { measureGrpc } from './load-generator.js';
import { startPeer, stopPeer } from './peers/spawn.js';

const peer = await startPeer('transport-server.ts', 'ocr_cls');
// On the GPU host (16 cores) the load generator gets 4 threads, a connection each.
const workers = Math.max(1, Math.min(4, Math.floor(availableParallelism() / 4)));
for (const [rows, c] of [
  [1, 64],
  [1, 128],
  [1, 256],
  [32, 16],
  [32, 32],
] as const) {
  const p = await measureGrpc(peer.address, ModelInferRequest.encode(ocrRequest(rows)).finish(), c, 4000, { workers });
  console.log(
    `transport ceiling, ${rows} rows/request, c${c}: ${(p.throughput * rows).toFixed(0)} rows/s, ${p.throughput.toFixed(0)} calls/s, p50 ${p.p50Ms.toFixed(1)} ms, p99 ${p.p99Ms.toFixed(1)} ms, load generator ${workers} thread(s) using ${p.clientCores.toFixed(2)} cores`,
  );
}
await stopPeer(peer);
