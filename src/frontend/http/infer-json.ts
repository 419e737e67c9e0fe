// POST …/infer bodies as KServe v2 JSON with Triton's binary tensor data extension, to and
// from the core's ModelInferRequest / ModelInferResponse. The JSON header may be followed
// by binary tensor data (Inference-Header-Content-Length says where the JSON ends); an
// input with parameters.binary_data_size takes that many bytes of it, in input order; an
// output asked for with binary_data (or every output, with binary_data_output) comes back
// after the JSON the same way. Everything a client sends is checked here for shape and type
// before the core's own checks; failures are INVALID_ARGUMENT naming the field.

import { invalid } from '../../errors.js';
import { checkNameLength, overLimitOf, type Limits } from '../../limits.js';
import { HttpError } from './body.js';
import type { InferParameter, ModelInferRequest } from '../../generated/inference/grpc_service.js';
import { datatypeByName } from '../../tensor/datatype.js';
import { jsonToRaw } from './json-tensors.js';
import { namesRegion } from '../../core/request-parameters.js';

type Json = Record<string, unknown>;

export interface ParsedInfer {
  request: ModelInferRequest;
  /**
   * Outputs to send as binary data, by name; `all` when binary_data_output was set;
   * `shm`: outputs written to shared memory (listed by name, datatype and shape only).
   */
  binary: { all: boolean; names: Set<string>; listed: Set<string>; shm: Set<string> };
}

/** The bounds a request's structure is held to, the same as over gRPC (src/limits.ts). */
export type InferBodyLimits = Pick<Limits, 'maxInputs' | 'maxOutputs' | 'maxParameters' | 'maxShapeRank' | 'maxElements' | 'maxBytesElements'>;

function over(limit: keyof InferBodyLimits, limits: InferBodyLimits, what: string): HttpError {
  return new HttpError(413, overLimitOf(limit, limits[limit], what).message);
}

/** `headerLength`: Inference-Header-Content-Length, when the request has binary data. */
export function parseInferBody(body: Buffer, headerLength: number | undefined, model: string, version: string, limits: InferBodyLimits): ParsedInfer {
  const jsonEnd = headerLength ?? body.length;
  if (jsonEnd > body.length) throw invalid(`Inference-Header-Content-Length (${jsonEnd}) is larger than the body (${body.length} bytes)`);
  let doc: unknown;
  try {
    doc = JSON.parse(body.subarray(0, jsonEnd).toString('utf8'));
  } catch (err) {
    throw invalid(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  const top = object(doc, 'the request body');
  const binary = body.subarray(jsonEnd);
  let cursor = 0;
  const id = optionalString(top['id'], "'id'");
  const parameters = parametersOf(top['parameters'], "'parameters'");
  const inputsRaw = top['inputs'];
  if (!Array.isArray(inputsRaw)) throw invalid("the request needs 'inputs', an array");
  if (inputsRaw.length > limits.maxInputs) throw over('maxInputs', limits, 'inputs');
  let parameterCount = Object.keys(parameters).length;
  let elements = 0;
  let bytesElements = 0;
  const countParameters = (n: number): void => {
    parameterCount += n;
    if (parameterCount > limits.maxParameters) throw over('maxParameters', limits, 'parameters');
  };
  countParameters(0);
  const inputs: ModelInferRequest['inputs'] = [];
  const raws: Buffer[] = [];
  for (const [i, raw] of inputsRaw.entries()) {
    const where = `input ${i}`;
    const t = object(raw, where);
    const name = nameOf(t['name'], `${where}: 'name'`);
    const what = `input '${name.slice(0, 200)}'`;
    const datatype = nameOf(t['datatype'], `${what}: 'datatype'`);
    const shape = shapeOf(t['shape'], what, limits);
    const params = parametersOf(t['parameters'], `${what}: 'parameters'`);
    countParameters(Object.keys(params).length);
    const size = params['binary_data_size'];
    const inShm = namesRegion(params);
    if ([t['data'] !== undefined, size !== undefined, inShm].filter(Boolean).length !== 1) {
      throw invalid(`${what}: set exactly one of 'data', 'binary_data_size' in 'parameters' or 'shared_memory_region' in 'parameters'`);
    }
    let data: Buffer | undefined;
    if (inShm) {
      // Read by the core from the region; the input takes no part of the body.
      data = undefined;
    } else if (size !== undefined) {
      if (size.parameterChoice?.$case !== 'int64Param' || size.parameterChoice.value < 0n)
        throw invalid(`${what}: 'binary_data_size' must be a non-negative integer`);
      const n = Number(size.parameterChoice.value);
      if (cursor + n > binary.length)
        throw invalid(`${what}: binary_data_size ${n} runs past the end of the binary data (${binary.length - cursor} bytes left)`);
      data = binary.subarray(cursor, cursor + n);
      cursor += n;
    } else {
      const d = datatypeByName(datatype);
      const count = elementCount(shape, what);
      if (d?.name === 'BYTES') {
        bytesElements += count;
        if (bytesElements > limits.maxBytesElements) throw over('maxBytesElements', limits, 'BYTES elements');
      } else {
        elements += count;
        if (elements > limits.maxElements) throw over('maxElements', limits, 'elements of JSON tensor data');
      }
      // An unknown datatype is the core's to refuse, with the model's expected type.
      const bytes = d ? jsonToRaw(t['data'], d, count, what) : new Uint8Array(0);
      // A view, not a copy: the bytes were made for this request.
      data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    // The extension's own parameters are consumed here; the core sees the data they carried.
    delete params['binary_data_size'];
    inputs.push({ name, datatype, shape: shape.map(BigInt), parameters: params, contents: undefined });
    if (data) raws.push(data);
  }
  if (cursor !== binary.length) throw invalid(`${binary.length - cursor} bytes of binary data follow the last input that uses any`);
  const outputs: ModelInferRequest['outputs'] = [];
  const names = new Set<string>();
  const listed = new Set<string>();
  const shm = new Set<string>();
  if (top['outputs'] !== undefined) {
    if (!Array.isArray(top['outputs'])) throw invalid("'outputs' must be an array");
    if (top['outputs'].length > limits.maxOutputs) throw over('maxOutputs', limits, 'outputs');
    for (const [i, raw] of top['outputs'].entries()) {
      const o = object(raw, `output ${i}`);
      const name = nameOf(o['name'], `output ${i}: 'name'`);
      const params = parametersOf(o['parameters'], `output '${name.slice(0, 200)}': 'parameters'`);
      countParameters(Object.keys(params).length);
      const b = params['binary_data']?.parameterChoice;
      listed.add(name);
      if (namesRegion(params)) {
        if (b?.$case === 'boolParam' && b.value) throw invalid(`output '${name.slice(0, 200)}': cannot set both 'shared_memory_region' and 'binary_data'`);
        shm.add(name);
      }
      if (b?.$case === 'boolParam' && b.value) names.add(name);
      else if (b && b.$case !== 'boolParam') throw invalid(`output '${name.slice(0, 200)}': 'binary_data' must be true or false`);
      delete params['binary_data'];
      outputs.push({ name, parameters: params });
    }
  }
  const all = parameters['binary_data_output']?.parameterChoice;
  if (all && all.$case !== 'boolParam') throw invalid("'binary_data_output' must be true or false");
  delete parameters['binary_data_output'];
  return {
    request: { modelName: model, modelVersion: version, id: id ?? '', parameters, inputs, outputs, rawInputContents: raws },
    binary: { all: all?.$case === 'boolParam' ? all.value : false, names, listed, shm },
  };
}

/** A JSON parameters object as InferParameters: integers int64, other numbers double, strings, booleans. */
export function parametersOf(v: unknown, what: string): Record<string, InferParameter> {
  if (v === undefined) return {};
  const o = object(v, what);
  const out: Record<string, InferParameter> = Object.create(null) as Record<string, InferParameter>;
  for (const [k, x] of Object.entries(o)) {
    checkNameLength(k, `${what}: a parameter name`);
    if (typeof x === 'boolean') out[k] = { parameterChoice: { $case: 'boolParam', value: x } };
    else if (typeof x === 'string') out[k] = { parameterChoice: { $case: 'stringParam', value: x } };
    else if (typeof x === 'number' && Number.isSafeInteger(x)) out[k] = { parameterChoice: { $case: 'int64Param', value: BigInt(x) } };
    else if (typeof x === 'number' && Number.isFinite(x)) out[k] = { parameterChoice: { $case: 'doubleParam', value: x } };
    else throw invalid(`${what}: '${k.slice(0, 100)}' must be a boolean, a number or a string`);
  }
  return out;
}

export function parametersToJson(p: Record<string, InferParameter>): Json {
  const out: Json = Object.create(null) as Json;
  for (const [k, v] of Object.entries(p)) {
    const c = v.parameterChoice;
    if (!c) continue;
    out[k] = typeof c.value === 'bigint' ? Number(c.value) : c.value;
  }
  return out;
}

function object(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${what} must be a JSON object`);
  return v as Json;
}

function requiredString(v: unknown, what: string): string {
  if (typeof v !== 'string') throw invalid(`${what} must be a string`);
  return v;
}

/** Names are echoed in messages and looked up in maps: bounded as over gRPC. */
function nameOf(v: unknown, what: string): string {
  return checkNameLength(requiredString(v, what), what);
}

function optionalString(v: unknown, what: string): string | undefined {
  return v === undefined ? undefined : requiredString(v, what);
}

function shapeOf(v: unknown, what: string, limits: InferBodyLimits): number[] {
  if (!Array.isArray(v)) throw invalid(`${what}: 'shape' must be an array of dimensions`);
  if (v.length > limits.maxShapeRank) throw over('maxShapeRank', limits, `dimensions in the shape of ${what}`);
  return v.map((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw invalid(`${what}: shape dimension ${i} must be a non-negative integer`);
    return d;
  });
}

function elementCount(shape: number[], what: string): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) throw invalid(`${what}: shape has too many elements`);
  }
  return n;
}
