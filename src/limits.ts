// Every bound the server puts on what clients send, in one table: the flag that sets it,
// its default, its range, and what a client gets past it. cli-options.ts reads the flags
// from this table and the README's "Limits" table is written from it (npm start -- --limits).

import { invalid, overLimit, type ServeError } from './errors.js';

export interface LimitSpec {
  flag: string;
  default: number;
  min: number;
  max: number;
  unit: string;
  /** What it bounds and what a client gets past it. */
  text: string;
}

/**
 * Input, output and parameter names: echoed in messages and used as map keys, so bounded
 * by every frontend. A fixed bound, not a flag.
 */
export const MAX_NAME_CHARS = 1024;

/** A name a frontend decoded, refused past MAX_NAME_CHARS (it would be echoed in messages). */
export function checkNameLength(s: string, what: string): string {
  if (s.length > MAX_NAME_CHARS) throw invalid(`${what} is longer than ${MAX_NAME_CHARS} characters`);
  return s;
}

/** A request past limit `limit` (its value `value`), naming the flag that sets it. */
export const overLimitOf = (limit: LimitName, value: number, what: string): ServeError => overLimit(`more than ${value} ${what}`, LIMITS[limit].flag);

export const LIMITS = {
  maxInputs: {
    flag: 'max-request-inputs',
    default: 128,
    min: 1,
    max: 65_536,
    unit: 'inputs',
    text: 'inputs (and raw_input_contents entries) in one request; RESOURCE_EXHAUSTED, counted while decoding',
  },
  maxOutputs: {
    flag: 'max-request-outputs',
    default: 128,
    min: 1,
    max: 65_536,
    unit: 'outputs',
    text: 'requested outputs in one request; RESOURCE_EXHAUSTED, counted while decoding',
  },
  maxParameters: {
    flag: 'max-request-parameters',
    default: 64,
    min: 1,
    max: 65_536,
    unit: 'parameters',
    text: 'parameters of a request, its inputs and outputs together; RESOURCE_EXHAUSTED, counted while decoding',
  },
  maxShapeRank: {
    flag: 'max-tensor-rank',
    default: 32,
    min: 1,
    max: 1024,
    unit: 'dimensions',
    text: 'dimensions in one input shape; RESOURCE_EXHAUSTED, counted while decoding',
  },
  maxElements: {
    flag: 'max-request-elements',
    default: 4_194_304,
    min: 1,
    max: 268_435_456,
    unit: 'elements',
    text: 'typed contents elements of all inputs together (raw_input_contents are not counted); RESOURCE_EXHAUSTED, counted while decoding',
  },
  maxBytesElements: {
    flag: 'max-request-bytes-elements',
    default: 1_048_576,
    min: 1,
    max: 268_435_456,
    unit: 'elements',
    text: 'BYTES elements of all inputs together, typed or raw; RESOURCE_EXHAUSTED',
  },
  maxUnknownFields: {
    flag: 'max-request-unknown-fields',
    default: 1024,
    min: 0,
    max: 268_435_456,
    unit: 'fields',
    text: 'fields of a request this protocol does not define (skipped, as protobuf says, but skipping millions is work); RESOURCE_EXHAUSTED',
  },
  maxInflightRequests: {
    flag: 'max-inflight-requests',
    default: 128,
    min: 1,
    max: 1_000_000,
    unit: 'requests',
    text: 'inference requests past the frontend (queued at a model or running) across the server; more wait at the frontend and are let through one connection at a time, round-robin, so a flood waits behind itself',
  },
  streamMaxInFlight: {
    flag: 'grpc-stream-max-in-flight',
    default: 64,
    min: 1,
    max: 65_536,
    unit: 'requests',
    text: 'requests of one ModelStreamInfer stream being served at once; past it the server stops reading the stream (HTTP/2 flow control holds the client) until one finishes and its response is sent',
  },
  maxQueuedBytes: {
    flag: 'max-queued-bytes',
    default: 512 * 1024 * 1024,
    min: 1024,
    max: 2 ** 53,
    unit: 'bytes',
    text: 'input bytes of all requests accepted and not yet answered, and answer bytes not yet sent to their clients, across the server; RESOURCE_EXHAUSTED',
  },
  maxQueueWaitMs: {
    flag: 'max-queue-wait',
    default: 500,
    min: 0,
    max: 3_600_000,
    unit: 'ms',
    text: "overload shedding: a request whose expected wait in its model's queue (rows ahead x the replicas' pace, or the age of the oldest ahead) passes this is refused at arrival with RESOURCE_EXHAUSTED and a retry hint instead of waiting for its deadline (up to 1.5x, connections holding less than an equal share are still let in); model parameter max_queue_wait_us overrides, and a model's latency_target_us is its limit; also the longest a request waits for an in-flight slot (--max-inflight-requests); 0 = never (Triton's behaviour)",
  },
  grpcMaxConcurrentStreams: {
    flag: 'grpc-max-concurrent-streams',
    default: 128,
    min: 1,
    max: 65_536,
    unit: 'streams',
    text: 'calls open at once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); a client queues the rest, a stream over it is reset',
  },
  grpcMaxConnections: {
    flag: 'grpc-max-connections',
    default: 4096,
    min: 1,
    max: 1_000_000,
    unit: 'connections',
    text: 'gRPC connections open at once; more are closed at accept',
  },
  httpMaxConnections: {
    flag: 'http-max-connections',
    default: 4096,
    min: 1,
    max: 1_000_000,
    unit: 'connections',
    text: 'HTTP/REST connections open at once; more are closed at accept',
  },
  httpMaxBufferedBytes: {
    flag: 'http-max-buffered-bytes',
    default: 1024 * 1024 * 1024,
    min: 1024 * 1024,
    max: 2 ** 40,
    unit: 'bytes',
    text: 'HTTP request bodies held in memory at once, over all connections, counted as they stream in and inflate; past it 503 and the connection closed',
  },
  httpMaxJsonBytes: {
    flag: 'http-max-json-size',
    default: 16 * 1024 * 1024,
    min: 1024,
    max: 2 ** 31 - 1,
    unit: 'bytes',
    text: 'the JSON part of an HTTP request (binary tensor data after it is not counted): a parsed JSON document costs many times its size; past it 413',
  },
  httpMaxJsonAnswerBytes: {
    flag: 'http-max-json-answer-size',
    default: 64 * 1024 * 1024,
    min: 1024,
    max: 2 ** 31 - 1,
    unit: 'bytes',
    text: "the JSON part of one HTTP answer (outputs asked for as binary data are not counted): JSON costs up to six times a tensor's bytes; past it 400, asking for binary data, checked while the JSON is written",
  },
  httpHeadersTimeoutMs: {
    flag: 'http-headers-timeout',
    default: 10_000,
    min: 100,
    max: 600_000,
    unit: 'ms',
    text: 'an HTTP request whose headers have not all arrived this long after it began is answered 408 and its connection closed (slow headers must not hold a socket)',
  },
  httpRequestTimeoutMs: {
    flag: 'http-request-timeout',
    default: 120_000,
    min: 1000,
    max: 3_600_000,
    unit: 'ms',
    text: 'an HTTP request whose body has not all arrived this long after it began is answered 408 and its connection closed',
  },
  grpcConnectionWindowBytes: {
    flag: 'grpc-connection-window',
    default: 8 * 1024 * 1024,
    min: 65_535,
    max: 2 ** 31 - 1,
    unit: 'bytes',
    text: "HTTP/2 receive window of each gRPC connection, shared by its streams (each stream's own stays 64 KiB, so this adds no buffering a client could not already cause): Node's 64 KiB default let large requests trickle in one window at a time and queue in the client",
  },
  answerStallTimeoutMs: {
    flag: 'answer-stall-timeout',
    default: 60_000,
    min: 0,
    max: 3_600_000,
    unit: 'ms',
    text: 'an answer its client does not read for this long is dropped, so it stops holding --max-queued-bytes: a gRPC message not yet sent resets its stream (CANCELLED), an HTTP answer of which no byte could be written closes its connection; 0 = never',
  },
  grpcFirstRequestTimeoutMs: {
    flag: 'grpc-first-request-timeout',
    default: 10_000,
    min: 0,
    max: 86_400_000,
    unit: 'ms',
    text: 'a connection that opens no call this long after accept (a preface and then nothing) is closed; 0 = never',
  },
  grpcMaxConnectionIdleMs: {
    flag: 'grpc-max-connection-idle',
    default: 900_000,
    min: 0,
    max: 2 ** 31 - 1,
    unit: 'ms',
    text: 'a connection with no call open this long gets GOAWAY and is closed (clients reconnect); 0 = never',
  },
  grpcMaxConnectionAgeMs: {
    flag: 'grpc-max-connection-age',
    default: 0,
    min: 0,
    max: 2 ** 31 - 1,
    unit: 'ms',
    text: "tritonserver's flag: a connection this old gets GOAWAY (±10 %); 0 = never",
  },
  grpcMaxConnectionAgeGraceMs: {
    flag: 'grpc-max-connection-age-grace',
    default: 0,
    min: 0,
    max: 2 ** 31 - 1,
    unit: 'ms',
    text: "tritonserver's flag: after the age GOAWAY, calls still open this long are cut; 0 = they may finish",
  },
  grpcKeepaliveTimeMs: {
    flag: 'grpc-keepalive-time',
    default: 7_200_000,
    min: 1,
    max: 2 ** 31 - 1,
    unit: 'ms',
    text: "tritonserver's flag: the server pings each connection this often",
  },
  grpcKeepaliveTimeoutMs: {
    flag: 'grpc-keepalive-timeout',
    default: 20_000,
    min: 1,
    max: 2 ** 31 - 1,
    unit: 'ms',
    text: "tritonserver's flag: a connection that does not answer a keepalive ping within this is closed",
  },
  grpcMinRecvPingIntervalMs: {
    flag: 'grpc-http2-min-recv-ping-interval-without-data',
    default: 300_000,
    min: 0,
    max: 2 ** 31 - 1,
    unit: 'ms',
    text: "tritonserver's flag: a client ping sooner than this after the last one, with no call open, is a strike (2 hours unless --grpc-keepalive-permit-without-calls=true)",
  },
  grpcMaxPingStrikes: {
    flag: 'grpc-http2-max-ping-strikes',
    default: 2,
    min: 0,
    max: 1_000_000,
    unit: 'strikes',
    text: 'tritonserver\'s flag: past this many strikes the connection gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings"; 0 = unlimited',
  },
  maxModelInstances: {
    flag: 'max-model-instances',
    default: 64,
    min: 1,
    max: 4096,
    unit: 'instances',
    text: 'instances one model may start (instance_group counts, times the GPUs listed); the model fails to load, naming the field',
  },
  maxConfigTimeoutUs: {
    flag: 'max-config-timeout-us',
    default: 3_600_000_000,
    min: 1,
    max: 86_400_000_000,
    unit: 'µs',
    text: 'max_queue_delay_microseconds and default_timeout_microseconds of a config; the model fails to load (the timeout request parameter is clamped to 1 hour)',
  },
  maxWarmupSamples: {
    flag: 'max-warmup-samples',
    default: 32,
    min: 0,
    max: 65_536,
    unit: 'samples',
    text: 'model_warmup entries of a config; the model fails to load',
  },
  maxWarmupBatchSize: {
    flag: 'max-warmup-batch-size',
    default: 1024,
    min: 1,
    max: 1_000_000,
    unit: 'rows',
    text: 'model_warmup batch_size; the model fails to load',
  },
  maxWarmupCount: {
    flag: 'max-warmup-count',
    default: 1000,
    min: 0,
    max: 1_000_000,
    unit: 'runs',
    text: 'model_warmup count (runs of a sample per instance); the model fails to load',
  },
  maxWarmupBytes: {
    flag: 'max-warmup-bytes',
    default: 256 * 1024 * 1024,
    min: 1,
    max: 2 ** 40,
    unit: 'bytes',
    text: 'input bytes of one warmup run, batch copies included; the model fails to load',
  },
} as const satisfies Record<string, LimitSpec>;

export type LimitName = keyof typeof LIMITS;
export type Limits = Readonly<Record<LimitName, number>>;

export const DEFAULT_LIMITS: Limits = Object.freeze(Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, v.default])) as Record<LimitName, number>);

/** The README's Limits table, in Markdown. */
export function limitsTable(): string {
  const rows = Object.values(LIMITS).map((l: LimitSpec) => `| \`--${l.flag}\` | ${l.default.toLocaleString('en-US')} ${l.unit} | ${l.text} |`);
  return ['| flag | default | what it bounds; what a client gets past it |', '|---|---|---|', ...rows].join('\n');
}
