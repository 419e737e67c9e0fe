// The gRPC transport ceiling alone for ocr_cls-sized requests (1 and 32 rows), against the
// bare grpc-js peer that answers with a canned response: what the server is compared with
// where compute is not the limit (a GPU host). Run by loadtest/gpu-check.sh.
//   node --import tsx loadtest/transport-ceiling.ts
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { credentials } from '@grpc/grpc-js';
import { GRPCInferenceServiceClient, ModelInferRequest } from '../src/generated/inference/grpc_service.js';
import { repoRoot } from '../test/helpers/server-process.js';
import { closedLoop } from './closed-loop.js';
import { summarize } from './percentiles.js';
const req = (rows: number) => ModelInferRequest.fromPartial({ modelName: 'ocr_cls', inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 3, 48, 192] }],
  rawInputContents: [Buffer.from(new Float32Array(rows * 3 * 48 * 192).fill(0.1).buffer)] });
const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'loadtest', 'peers', 'transport-server.ts'), join(repoRoot, 'model-repo'), 'ocr_cls'], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((res) => createInterface({ input: child.stdout! }).on('line', (l) => { const m = /^listening (\d+)$/.exec(l); if (m) res(Number(m[1])); }));
const client = new GRPCInferenceServiceClient(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
for (const [rows, c] of [[1, 64], [1, 128], [1, 256], [32, 16], [32, 32]] as const) {
  const r0 = req(rows);
  await closedLoop(client, () => r0, c, 0, c * 2);
  const r = await closedLoop(client, () => r0, c, 4000, 1e6);
  const s = summarize(r.latenciesMs);
  console.log(`transport ceiling, ${rows} rows/request, c${c}: ${(r.latenciesMs.length * rows / (r.elapsedMs / 1000)).toFixed(0)} rows/s, ${(r.latenciesMs.length / (r.elapsedMs / 1000)).toFixed(0)} calls/s, p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms`);
}
client.close(); child.kill();
