// The gRPC transport ceiling alone for ocr_cls-sized requests (1 and 32 rows), against the
// bare grpc-js peer that answers with a canned response: what the server is compared with
// where compute is not the limit (a GPU host). Run by loadtest/gpu-check.sh.
//   node --import tsx loadtest/transport-ceiling.ts

import { credentials } from '@grpc/grpc-js';
import { GRPCInferenceServiceClient } from '../src/generated/inference/grpc_service.js';
import { ocrRequest } from './bundled-requests.js';
import { measureStep } from './closed-loop.js';
import { startPeer, stopPeer } from './peers/spawn.js';

const peer = await startPeer('transport-server.ts', 'ocr_cls');
const client = new GRPCInferenceServiceClient(peer.address, credentials.createInsecure(), {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
});
for (const [rows, c] of [
  [1, 64],
  [1, 128],
  [1, 256],
  [32, 16],
  [32, 32],
] as const) {
  const p = await measureStep(client, ocrRequest(rows), c, 4000);
  console.log(
    `transport ceiling, ${rows} rows/request, c${c}: ${(p.throughput * rows).toFixed(0)} rows/s, ${p.throughput.toFixed(0)} calls/s, p50 ${p.p50Ms.toFixed(1)} ms, p99 ${p.p99Ms.toFixed(1)} ms`,
  );
}
client.close();
await stopPeer(peer);
