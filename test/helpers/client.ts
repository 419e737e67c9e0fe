// A real gRPC client built from protos/ (the ts-proto generated stub), with promise
// helpers, plus health and reflection clients.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GRPCInferenceServiceClient, ModelInferRequest } from '../../src/generated/inference/grpc_service.js';

export type InferenceClient = InstanceType<typeof GRPCInferenceServiceClient>;

export function connect(address: string, options: grpc.ClientOptions = {}): InferenceClient {
  return new GRPCInferenceServiceClient(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    ...options,
  });
}

type Unary<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  cb: (err: grpc.ServiceError | null, res: Res) => void,
) => unknown;

/** Calls a unary method and resolves with its response. */
export function call<Req, Res>(client: object, method: Unary<Req, Res>, req: Req, deadlineMs = 30_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Calls a unary method that must fail, and resolves with the error. */
export async function callError<Req, Res>(client: object, method: Unary<Req, Res>, req: Req): Promise<grpc.ServiceError> {
  try {
    await call(client, method, req);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('the call succeeded, but an error was expected');
}

const HealthClient = grpc.makeClientConstructor(healthService as never, 'grpc.health.v1.Health');

/** A method of a client made from proto-loader definitions: untyped; each test states the shapes it reads. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type UntypedMethod = (...args: any[]) => any;

export function healthClient(address: string): grpc.Client & Record<string, UntypedMethod> {
  return new HealthClient(address, grpc.credentials.createInsecure()) as never;
}

const require = createRequire(import.meta.url);

export function reflectionClient(address: string): grpc.Client & Record<string, UntypedMethod> {
  const protoDir = join(dirname(require.resolve('@grpc/reflection')), '..', 'proto');
  const def = protoLoader.loadSync(join(protoDir, 'grpc', 'reflection', 'v1', 'reflection.proto'), { includeDirs: [protoDir] });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
  return new pkg.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure()) as never;
}

export const int32Buffer = (values: number[]): Buffer => Buffer.from(new Int32Array(values).buffer);

/** A request to the bundled `simple` model: INPUT0 all 1s and INPUT1 all 2s, so OUTPUT0 is all 3s. */
export const simpleRequest = (id = ''): ModelInferRequest =>
  ModelInferRequest.fromPartial({
    modelName: 'simple',
    id,
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
    ],
    rawInputContents: [int32Buffer(Array(16).fill(1)), int32Buffer(Array(16).fill(2))],
  });
/** Request parameters carrying the test-only fault switch (servers started with TRITON_TS_TEST_FAULTS=1). */
export const testFault = (value: string) => ({ test_fault: { parameterChoice: { $case: 'stringParam' as const, value } } });

export const float32Buffer = (values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);
export const readInt32 = (b: Buffer): number[] => [...new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))];
export const readFloat32 = (b: Buffer): number[] => [...new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))];

/** Length-prefixed BYTES elements. */
export function bytesBuffer(items: string[]): Buffer {
  return Buffer.concat(
    items.flatMap((s) => {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      return [len, b];
    }),
  );
}

export function readBytes(b: Buffer): string[] {
  const out: string[] = [];
  let o = 0;
  while (o + 4 <= b.length) {
    const n = b.readUInt32LE(o);
    out.push(b.subarray(o + 4, o + 4 + n).toString('utf8'));
    o += 4 + n;
  }
  return out;
}
