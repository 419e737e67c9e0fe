// InferenceResult → ModelInferResponse. Output bytes go out as raw_output_contents,
// as Buffers over the worker's transferred memory (no copies).

import type { ModelInferResponse } from '../generated/inference/grpc_service.js';
import type { InferenceRequest, InferenceResult } from '../model/types.js';

export function encodeInferResponse(request: InferenceRequest, result: InferenceResult): ModelInferResponse {
  const byName = new Map(result.outputs.map((o) => [o.name, o]));
  const ordered = request.outputs.map((name) => byName.get(name)!);
  return {
    modelName: request.modelName,
    modelVersion: String(request.version),
    id: request.id,
    parameters: {},
    outputs: ordered.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape.map(BigInt), parameters: {}, contents: undefined })),
    rawOutputContents: ordered.map((o) => Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength)),
  };
}
