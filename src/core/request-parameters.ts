// Request, input and output parameters checked as Triton checks them: each key this
// protocol gives a meaning must carry the value type Triton expects, keys with Triton's
// reserved prefix are refused, and other keys may be int64, bool or string. Every
// message names the parameter and the type expected.

import { invalid, notImplemented } from '../errors.js';
import type { InferParameter } from '../generated/inference/grpc_service.js';

type Case = NonNullable<InferParameter['parameterChoice']>['$case'];

const TYPE_NAMES: Record<Case, string> = {
  boolParam: 'bool_param',
  int64Param: 'int64_param',
  stringParam: 'string_param',
  doubleParam: 'double_param',
  uint64Param: 'uint64_param',
};

/** The reserved prefix; Triton allows one key under it. */
const RESERVED_PREFIX = 'triton_';
const RESERVED_ALLOWED: Record<string, Case[]> = { triton_enable_empty_final_response: ['boolParam'] };

/** Request-level keys with a meaning, and the value types each may have. */
const REQUEST_KEYS: Record<string, Case[]> = {
  sequence_id: ['int64Param', 'stringParam'],
  sequence_start: ['boolParam'],
  sequence_end: ['boolParam'],
  priority: ['int64Param', 'uint64Param'],
  timeout: ['int64Param'],
  binary_data_output: ['boolParam'],
  ...RESERVED_ALLOWED,
};

const SHM_KEYS: Record<string, Case[]> = {
  shared_memory_region: ['stringParam'],
  shared_memory_byte_size: ['int64Param'],
  shared_memory_offset: ['int64Param'],
};
const INPUT_KEYS: Record<string, Case[]> = { ...SHM_KEYS, binary_data_size: ['int64Param'] };
const OUTPUT_KEYS: Record<string, Case[]> = { ...SHM_KEYS, classification: ['int64Param'], binary_data: ['boolParam'] };
/** Other keys are passed to the model by Triton; it accepts these types for them. */
const CUSTOM: Case[] = ['int64Param', 'boolParam', 'stringParam'];

/** Longest timeout a request may ask for, in µs (1 hour); larger values are clamped to it. */
export const MAX_REQUEST_TIMEOUT_US = 3_600_000_000;

export interface RequestParameters {
  /** 0 = the model's default level. */
  priority: number;
  /** 0 = none. Clamped to MAX_REQUEST_TIMEOUT_US. */
  timeoutUs: number;
  sequence: boolean;
}

function check(params: Record<string, InferParameter>, known: Record<string, Case[]>, where: string): void {
  for (const key of Object.keys(params)) {
    const c = params[key]!.parameterChoice;
    if (key.startsWith(RESERVED_PREFIX) && !Object.hasOwn(known, key)) {
      const allowed = Object.keys(known).filter((k) => k.startsWith(RESERVED_PREFIX));
      throw invalid(
        `${where}: parameter keys starting with '${RESERVED_PREFIX}' are reserved` +
          (allowed.length > 0 ? `; the only one allowed here is ${allowed.map((k) => `'${k}'`).join(', ')}` : '') +
          ` (got '${key}')`,
      );
    }
    const allowed = Object.hasOwn(known, key) ? known[key]! : CUSTOM;
    if (!c || !allowed.includes(c.$case)) {
      const got = c ? TYPE_NAMES[c.$case] : 'no value';
      throw invalid(`${where}: parameter '${key}' must be ${allowed.map((a) => TYPE_NAMES[a]).join(' or ')}, got ${got}`);
    }
  }
}

/** Checks the request-level parameters and reads the ones the server acts on. */
export function readRequestParameters(params: Record<string, InferParameter>, model: string): RequestParameters {
  check(params, REQUEST_KEYS, model);
  let priority = 0;
  const p = params['priority']?.parameterChoice;
  if (p?.$case === 'int64Param' || p?.$case === 'uint64Param') {
    if (p.value < 0n) throw invalid(`${model}: parameter 'priority' must be >= 0, got ${p.value}`);
    // Above the model's levels means the default level, so any larger value means the same.
    priority = p.value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(p.value);
  }
  let timeoutUs = 0;
  const t = params['timeout']?.parameterChoice;
  if (t?.$case === 'int64Param') {
    if (t.value < 0n) throw invalid(`${model}: parameter 'timeout' must be >= 0 microseconds, got ${t.value}`);
    timeoutUs = t.value > BigInt(MAX_REQUEST_TIMEOUT_US) ? MAX_REQUEST_TIMEOUT_US : Number(t.value);
  }
  const sequence = ['sequence_id', 'sequence_start', 'sequence_end'].some((k) => isSet(params[k]));
  return { priority, timeoutUs, sequence };
}

/** Whether a tensor's parameters name a shared memory region (its data is there, not in the message). */
export const namesRegion = (params: Record<string, InferParameter>): boolean => params['shared_memory_region'] !== undefined;

/** Where a tensor lives in a registered shared memory region (Triton's system shared memory extension). */
export interface SharedMemoryRef {
  region: string;
  byteSize: number;
  offset: number;
}

/** Checks one input's parameters; returns its shared memory reference, if it has one. */
export function checkInputParameters(params: Record<string, InferParameter>, what: string): SharedMemoryRef | undefined {
  check(params, INPUT_KEYS, what);
  if (params['binary_data_size']) {
    throw invalid(`${what}: parameter 'binary_data_size' belongs to the HTTP/REST binary extension; over gRPC send the data in raw_input_contents`);
  }
  return sharedMemoryOf(params, what);
}

/** Checks one requested output's parameters; returns its shared memory reference, if it has one. */
export function checkOutputParameters(params: Record<string, InferParameter>, what: string): SharedMemoryRef | undefined {
  check(params, OUTPUT_KEYS, what);
  const ref = sharedMemoryOf(params, what);
  if (isSet(params['classification'])) {
    if (ref) throw invalid(`${what}: cannot set both 'shared_memory_region' and 'classification'`);
    throw notImplemented(`${what}: the 'classification' output parameter`);
  }
  return ref;
}

/** As Triton reads them: a region (string) needs its byte size (int64); the offset (int64, default 0) needs a region. */
function sharedMemoryOf(params: Record<string, InferParameter>, what: string): SharedMemoryRef | undefined {
  const region = params['shared_memory_region']?.parameterChoice;
  const size = params['shared_memory_byte_size']?.parameterChoice;
  const offset = params['shared_memory_offset']?.parameterChoice;
  if (!region) {
    if (size || offset) throw invalid(`${what}: 'shared_memory_byte_size' and 'shared_memory_offset' need 'shared_memory_region'`);
    return undefined;
  }
  if (!size) throw invalid(`${what}: 'shared_memory_byte_size' must be given with 'shared_memory_region'`);
  const n = (c: typeof size, key: string): number => {
    const v = c.value as bigint;
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what}: parameter '${key}' must be in 0..2^53-1, got ${v}`);
    return Number(v);
  };
  return { region: region.value as string, byteSize: n(size, 'shared_memory_byte_size'), offset: offset ? n(offset, 'shared_memory_offset') : 0 };
}

function isSet(p: InferParameter | undefined): boolean {
  const c = p?.parameterChoice;
  if (!c) return false;
  return c.value !== 0n && c.value !== 0 && c.value !== false && c.value !== '';
}
