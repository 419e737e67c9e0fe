// In-process throughput of a model on the CUDA execution provider at rising batch sizes:
// the ceiling the server is compared with on a GPU host (run by loadtest/gpu-check.sh).
//   node --import tsx loadtest/gpu-ceiling.ts [model.onnx] [device]

import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { repoRoot } from '../test/helpers/server-process.js';
import { table } from './percentiles.js';

const modelPath = process.argv[2] ?? join(repoRoot, 'model-repo', 'ocr_cls', '1', 'model.onnx');
const deviceId = Number(process.argv[3] ?? 0);
const session = await ort.InferenceSession.create(modelPath, { executionProviders: [{ name: 'cuda', deviceId }] });
const rows: Array<Array<string | number>> = [];
for (const batch of [1, 2, 4, 8, 16, 32, 64, 128, 256]) {
  const feeds = { x: new ort.Tensor('float32', new Float32Array(batch * 3 * 48 * 192).fill(0.1), [batch, 3, 48, 192]) };
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const runs = Math.max(10, Math.round(4000 / batch));
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run(feeds);
  const ms = (performance.now() - t0) / runs;
  rows.push([batch, ms, (batch * 1000) / ms]);
}
console.log(`CUDA EP in-process, device ${deviceId}, ${modelPath}`);
console.log(table(['batch', 'ms/run', 'rows/s'], rows));
await session.release();
