// ModelInferRequest → InferenceRequest, checked against the model's config. Every
// failure is INVALID_ARGUMENT with a message naming the model, the tensor and what was
// expected; nothing here can throw anything else for a well-formed protobuf message.

import type { ModelInferRequest, InferParameter } from '../generated/inference/grpc_service.js';
import type { ModelConfig } from '../generated/inference/model_config.js';
import { exhausted, invalid } from '../errors.js';
import { LIMITS } from '../limits.js';
import type { Cancellation, InferenceRequest, SharedMemoryUse, Tensor } from '../model/types.js';
import { checkBytesRaw, typedToRaw, type TypedContents } from '../tensor/codec.js';
import { configTypeName, datatypeByConfigEnum, datatypeByName } from '../tensor/datatype.js';
import { elementCount, formatShape, shapeMatches } from '../tensor/shape.js';
import { checkInputParameters, checkOutputParameters, namesRegion, readRequestParameters, type SharedMemoryRef } from './request-parameters.js';
import type { RegionLease, SystemSharedMemory } from '../shm/system-shared-memory.js';

/** What the call adds to the message: when it arrived, its deadline, its cancellation. */
export interface CallContext {
  receivedAtMs: number;
  deadlineAtMs: number | undefined;
  cancel: Cancellation | undefined;
  /** Whether to read the test-only `test_fault` parameter. */
  testFaults?: boolean;
  /** Registered shared memory regions, for inputs and outputs that name one. */
  shm?: SystemSharedMemory | undefined;
  /** Bytes a request may read from shared memory (what --max-queued-bytes has left), checked before any is read. */
  shmMaxBytes?: number;
  /** --max-request-bytes-elements, for raw and shared memory BYTES inputs (the wire decoder counts typed ones). */
  maxBytesElements?: number;
}

/** Leases taken while decoding are released if decoding fails; on success the core releases them. */
export function decodeInferRequest(req: ModelInferRequest, config: ModelConfig, version: number, call: CallContext): InferenceRequest {
  const shm: SharedMemoryUse = { leases: [], outputs: new Map() };
  try {
    const request = decode(req, config, version, call, shm);
    if (shm.leases.length > 0) request.sharedMemory = shm;
    return request;
  } catch (err) {
    for (const l of shm.leases) l.release();
    throw err;
  }
}

function decode(req: ModelInferRequest, config: ModelConfig, version: number, call: CallContext, shm: SharedMemoryUse): InferenceRequest {
  const model = `model '${req.modelName}'`;
  const lease = (ref: SharedMemoryRef, what: string): RegionLease => {
    if (!call.shm) throw invalid(`${what}: this server has no shared memory`);
    const l = call.shm.lease(ref.region, what);
    shm.leases.push(l);
    return l;
  };
  const { priority, timeoutUs, sequence } = readRequestParameters(req.parameters, model);
  if (sequence) {
    throw invalid(`${model} is not a sequence model; remove the sequence_id, sequence_start and sequence_end parameters`);
  }
  // raw_input_contents holds the inputs that are not in shared memory, in order (as Triton reads it).
  const inShm = req.inputs.map((t) => namesRegion(t.parameters));
  const rawCount = inShm.filter((x) => !x).length;
  const useRaw = req.rawInputContents.length > 0;
  if (useRaw && req.rawInputContents.length !== rawCount) {
    throw invalid(
      `${model}: raw_input_contents has ${req.rawInputContents.length} entries but the request has ` +
        `${rawCount} inputs not in shared memory; send one entry per such input, in the order of 'inputs'`,
    );
  }
  let rawIndex = 0;
  let shmBytes = 0;
  let bytesElements = 0;
  const batching = config.maxBatchSize > 0;
  let batchSize = -1;
  const seen = new Set<string>();
  const tensors: Tensor[] = [];

  req.inputs.forEach((input) => {
    const what = `input '${input.name}' of ${model}`;
    const spec = config.input.find((c) => c.name === input.name);
    if (!spec) {
      throw invalid(`${model} has no input '${input.name}'; its inputs are ${config.input.map((c) => `'${c.name}'`).join(', ')}`);
    }
    if (seen.has(input.name)) throw invalid(`${what} is given twice`);
    seen.add(input.name);
    const ref = checkInputParameters(input.parameters, what);
    const want = datatypeByConfigEnum(spec.dataType)!;
    const got = datatypeByName(input.datatype);
    if (!got || got.name !== want.name) {
      throw invalid(`${what}: datatype '${input.datatype}' does not match the model, which expects ${want.name} (${configTypeName(want)})`);
    }
    const shape = dimsOf(input.shape, what);
    const dims = batching ? [-1, ...spec.dims] : spec.dims;
    const expected = formatShape(dims);
    if (shape.length !== dims.length) {
      throw invalid(
        `${what}: shape ${formatShape(shape)} has rank ${shape.length}, expected rank ${dims.length} ${expected}` +
          (batching ? ` (batch dimension first, max_batch_size ${config.maxBatchSize})` : ''),
      );
    }
    if (batching) {
      const b = shape[0]!;
      if (b < 1 || b > config.maxBatchSize) {
        throw invalid(`${what}: batch size ${b} is outside 1..${config.maxBatchSize} (max_batch_size of ${model})`);
      }
      if (batchSize !== -1 && b !== batchSize) {
        throw invalid(`${what}: batch size ${b} differs from the other inputs' batch size ${batchSize}`);
      }
      batchSize = b;
    }
    if (!shapeMatches(shape, dims)) {
      throw invalid(`${what}: shape ${formatShape(shape)} does not match the model's ${expected} (-1 is any size)`);
    }
    const count = elementCount(shape);
    if (count > MAX_ELEMENTS_PER_TENSOR) {
      throw invalid(`${what}: shape ${formatShape(shape)} has ${count} elements, more than any tensor may hold (${MAX_ELEMENTS_PER_TENSOR})`);
    }
    const contents = input.contents;
    const hasTyped = contents !== undefined && Object.values(contents).some((v) => Array.isArray(v) && v.length > 0);
    // Raw and shared memory BYTES are counted here (the wire decoder counts typed ones as it reads them).
    if (want.name === 'BYTES' && !hasTyped) bytesElements += count;
    if (bytesElements > (call.maxBytesElements ?? Number.MAX_SAFE_INTEGER)) {
      throw exhausted(
        `${what}: the request holds more than ${call.maxBytesElements} BYTES elements; the server's limit is set by --${LIMITS.maxBytesElements.flag}`,
      );
    }
    let data: Uint8Array;
    const wantBytes = want.name === 'BYTES' ? undefined : count * want.byteSize;
    if (ref) {
      if (hasTyped) throw invalid(`${what}: has typed contents and 'shared_memory_region'; use one`);
      if (wantBytes !== undefined && ref.byteSize !== wantBytes) {
        throw invalid(`${what}: shared_memory_byte_size is ${ref.byteSize}, but shape ${formatShape(shape)} of ${want.name} needs ${wantBytes}`);
      }
      shmBytes += ref.byteSize;
      if (shmBytes > (call.shmMaxBytes ?? Number.MAX_SAFE_INTEGER)) {
        throw exhausted(
          `${model}: the request's shared memory inputs hold more bytes than the server can take now (${call.shmMaxBytes}); its limit is set by --${LIMITS.maxQueuedBytes.flag}`,
        );
      }
      data = lease(ref, what).read(ref.offset, ref.byteSize, what);
      if (want.name === 'BYTES') checkBytesRaw(data, count, what);
    } else if (useRaw) {
      if (hasTyped) {
        throw invalid(`${what}: has both typed contents and raw_input_contents; use one form for all inputs of a request`);
      }
      const raw = req.rawInputContents[rawIndex++]!;
      if (want.name === 'BYTES') {
        checkBytesRaw(raw, count, what);
      } else if (raw.byteLength !== count * want.byteSize) {
        throw invalid(
          `${what}: raw_input_contents holds ${raw.byteLength} bytes, but shape ${formatShape(shape)} of ${want.name} ` +
            `needs ${count * want.byteSize} (${count} elements x ${want.byteSize} bytes)`,
        );
      }
      data = raw;
    } else if (hasTyped) {
      data = typedToRaw(want, contents as TypedContents, count, what);
    } else if (count === 0) {
      data = new Uint8Array(0);
    } else {
      throw invalid(`${what}: no data; set its contents or send raw_input_contents`);
    }
    tensors.push({ name: input.name, datatype: want.name, shape: [...shape], data });
  });

  const missing = config.input.filter((c) => !seen.has(c.name) && !c.optional);
  if (missing.length > 0) {
    throw invalid(`${model} expects input${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c.name}'`).join(', ')}, which the request does not send`);
  }

  let outputs: string[];
  if (req.outputs.length === 0) {
    outputs = config.output.map((o) => o.name);
  } else {
    outputs = [];
    for (const o of req.outputs) {
      if (!config.output.some((c) => c.name === o.name)) {
        throw invalid(`${model} has no output '${o.name}'; its outputs are ${config.output.map((c) => `'${c.name}'`).join(', ')}`);
      }
      if (outputs.includes(o.name)) throw invalid(`output '${o.name}' of ${model} is requested twice`);
      const what = `output '${o.name}' of ${model}`;
      const ref = checkOutputParameters(o.parameters, what);
      if (ref) {
        const l = lease(ref, what);
        // Checked now, against the region's size, so a bad offset fails before the model runs.
        l.check(ref.offset, ref.byteSize, what);
        shm.outputs.set(o.name, { lease: l, offset: ref.offset, byteSize: ref.byteSize });
      }
      outputs.push(o.name);
    }
  }

  return {
    modelName: req.modelName,
    version,
    id: req.id,
    inputs: tensors,
    outputs,
    batchSize: batching ? batchSize : 0,
    receivedAtMs: call.receivedAtMs,
    priority,
    timeoutUs,
    deadlineAtMs: call.deadlineAtMs,
    cancel: call.cancel,
    testFault: call.testFaults ? testFault(req.parameters['test_fault'], model) : undefined,
  };
}

function testFault(p: InferParameter | undefined, model: string): string | undefined {
  const c = p?.parameterChoice;
  if (!c) return undefined;
  if (c.$case === 'stringParam' && /^(fail|exit|throw|oom|fail-replica:\d+:\d+|sleep:\d{1,5})$/.test(c.value)) return c.value;
  throw invalid(`${model}: parameter 'test_fault' must be fail, exit, throw, oom, fail-replica:<index>:<runs> or sleep:<ms>`);
}

/**
 * Largest element count of one tensor: 2^31 - 1, so byte sizes of every datatype stay
 * exact in JS numbers and within what an ArrayBuffer may hold.
 */
const MAX_ELEMENTS_PER_TENSOR = 2 ** 31 - 1;

/** A shape from the wire (int64, any value) as numbers; every dimension in 0..2^31-1. */
function dimsOf(shape: readonly bigint[], what: string): number[] {
  const out: number[] = [];
  for (const d of shape) {
    if (d < 0n || d > BigInt(MAX_ELEMENTS_PER_TENSOR)) {
      throw invalid(`${what}: shape [${shape.join(',')}] has dimension ${d}, outside 0..${MAX_ELEMENTS_PER_TENSOR}`);
    }
    out.push(Number(d));
  }
  return out;
}
