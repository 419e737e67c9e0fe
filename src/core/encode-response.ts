// InferenceResult → ModelInferResponse. Output bytes go out as raw_output_contents,
// as Buffers over the worker's transferred memory (no copies); an output asked for in
// shared memory is written there and keeps an empty raw entry, as Triton answers.

import type { ModelInferResponse } from '../generated/inference/grpc_service.js';
import type { InferenceRequest, InferenceResult } from '../model/types.js';
import { invalid } from '../errors.js';

export function encodeInferResponse(request: InferenceRequest, result: InferenceResult): ModelInferResponse {
  const byName = new Map(result.outputs.map((o) => [o.name, o]));
  const ordered = request.outputs.map((name) => byName.get(name)!);
  return {
    modelName: request.modelName,
    modelVersion: String(request.version),
    id: request.id,
    parameters: {},
    outputs: ordered.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape.map(BigInt), parameters: {}, contents: undefined })),
    rawOutputContents: ordered.map((o) =>
      request.sharedMemory?.outputs.has(o.name) ? Buffer.alloc(0) : Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength),
    ),
  };
}

/** Writes the outputs the request placed in shared memory; INVALID_ARGUMENT when one does not fit. */
export function writeSharedMemoryOutputs(request: InferenceRequest, result: InferenceResult): void {
  const targets = request.sharedMemory?.outputs;
  if (!targets || targets.size === 0) return;
  const writes = result.outputs.flatMap((o) => {
    const t = targets.get(o.name);
    return t ? [{ o, t, what: `output '${o.name}' of model '${request.modelName}'` }] : [];
  });
  // Every output is checked before any is written: a refused request leaves the regions as they were.
  for (const { o, t, what } of writes) {
    if (o.data.byteLength > t.byteSize)
      throw invalid(`${what}: shared_memory_byte_size ${t.byteSize} is too small for the output (${o.data.byteLength} bytes)`);
  }
  for (const { o, t, what } of writes) t.lease.write(t.offset, t.byteSize, o.data, what);
}
