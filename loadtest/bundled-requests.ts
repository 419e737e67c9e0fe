// Batch-1 requests for the bundled models that the benchmarks send.

import { ModelInferRequest } from '../src/generated/inference/grpc_service.js';

/** `simple` with INPUT0 all `a` and INPUT1 all `b`. */
export function simpleRequest(a = 1, b = 2): ModelInferRequest {
  return ModelInferRequest.fromPartial({
    modelName: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
    ],
    rawInputContents: [Buffer.from(new Int32Array(16).fill(a).buffer), Buffer.from(new Int32Array(16).fill(b).buffer)],
  });
}

/** `ocr_cls` with `rows` images of [3,48,192] FP32 (110 KB each). */
export function ocrRequest(rows = 1): ModelInferRequest {
  return ModelInferRequest.fromPartial({
    modelName: 'ocr_cls',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [BigInt(rows), 3n, 48n, 192n] }],
    rawInputContents: [Buffer.from(Float32Array.from({ length: rows * 3 * 48 * 192 }, (_, i) => Math.sin(i) * 0.5).buffer)],
  });
}
