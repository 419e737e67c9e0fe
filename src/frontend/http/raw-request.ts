// Triton's raw binary request: Inference-Header-Content-Length 0 (or an empty body) means
// the whole body is the data of the model's one input; its shape comes from the model (a
// batching model takes batch 1, and at most one other dimension may be variable, deduced
// from the byte count); a BYTES input must have shape [1] and the body is its one element.
// Every output comes back as binary data.

import type { InferenceCore } from '../../core/inference-core.js';
import { invalid } from '../../errors.js';
import type { ModelInferRequest } from '../../generated/inference/grpc_service.js';
import { datatypeByName } from '../../tensor/datatype.js';
import type { ParsedInfer } from './infer-json.js';

export function rawInferRequest(core: InferenceCore, body: Buffer, model: string, version: string): ParsedInfer {
  const meta = core.modelMetadata(model, version);
  if (meta.inputs.length !== 1) {
    throw invalid(`a raw binary request (Inference-Header-Content-Length: 0) needs a model with one input; '${model}' has ${meta.inputs.length}`);
  }
  const input = meta.inputs[0]!;
  const batching = core.modelConfig(model, version).config!.maxBatchSize > 0;
  const dims = input.shape.map(Number);
  if (batching) dims[0] = 1;
  const d = datatypeByName(input.datatype);
  if (!d) throw invalid(`input '${input.name}' of '${model}' has a datatype (${input.datatype}) a raw request cannot carry`);
  let data: Buffer = body;
  if (d.name === 'BYTES') {
    const rest = batching ? dims.slice(1) : dims;
    if (rest.length !== 1 || (rest[0] !== 1 && rest[0] !== -1)) {
      throw invalid(`for a BYTES raw input '${input.name}', the model must have input shape [1]`);
    }
    if (rest[0] === -1) dims[dims.length - 1] = 1;
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(body.length);
    data = Buffer.concat([prefix, body]);
  } else {
    const open = dims.filter((x) => x < 0).length;
    if (open > 1) throw invalid(`the shape of raw input '${input.name}' cannot be deduced: it has more than one variable-sized dimension`);
    const known = dims.reduce((a, x) => (x < 0 ? a : a * x), d.byteSize);
    if (open === 1) {
      if (known === 0 || body.length % known !== 0)
        throw invalid(`raw input '${input.name}': ${body.length} bytes is not a whole number of ${input.datatype} rows of ${known} bytes`);
      dims[dims.indexOf(-1)] = body.length / known;
    }
  }
  const request: ModelInferRequest = {
    modelName: model,
    modelVersion: version,
    id: '',
    parameters: {},
    inputs: [{ name: input.name, datatype: input.datatype, shape: dims.map(BigInt), parameters: {}, contents: undefined }],
    outputs: [],
    rawInputContents: [data],
  };
  return { request, binary: { all: true, names: new Set(), listed: new Set(), shm: new Set() } };
}
