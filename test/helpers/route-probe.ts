// Calls any route of the server by its method path, with chosen metadata, and reports how
// it ended: the gRPC status (0 when it answered), or for ModelStreamInfer the in-band
// error of its first response. The access tests walk the route table with it.

import * as grpc from '@grpc/grpc-js';
import * as pb from '../../src/generated/inference/grpc_service.js';
import { GRPCInferenceServiceService } from '../../src/generated/inference/grpc_service.js';

export interface ProbeResult {
  code: number;
  details: string;
  /** The error came in-band, in a ModelStreamInferResponse. */
  inBand?: boolean;
}

type Encodable = { fromPartial(o: object): unknown; encode(m: unknown): { finish(): Uint8Array } };

/** The request bytes for `path`, naming `model` in whichever field that route reads. */
export function requestBytes(path: string, model: string): Buffer {
  const method = path.split('/')[2] ?? '';
  if (path.startsWith('/grpc.health.v1.Health/')) return lengthDelimited(1, model);
  if (path.includes('ServerReflection')) return lengthDelimited(7, '');
  const type = (pb as unknown as Record<string, Encodable>)[method === 'ModelStreamInfer' ? 'ModelInferRequest' : `${method}Request`];
  if (!type) throw new Error(`no request type for ${path}`);
  const partial: Record<string, unknown> = { name: model, modelName: model };
  if (method === 'ModelInfer' || method === 'ModelStreamInfer') {
    partial['inputs'] = [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
    ];
    partial['rawInputContents'] = [Buffer.alloc(64), Buffer.alloc(64)];
  }
  return Buffer.from(type.encode(type.fromPartial(partial)).finish());
}

function lengthDelimited(field: number, s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
}

const identity = (b: Buffer): Buffer => b;

export function probeRoute(client: grpc.Client, path: string, model: string, metadata: grpc.Metadata, deadlineMs = 10_000): Promise<ProbeResult> {
  const bytes = requestBytes(path, model);
  const options = { deadline: Date.now() + deadlineMs };
  const def = Object.values(GRPCInferenceServiceService).find((m) => m.path === path);
  const streamsOut = path === '/grpc.health.v1.Health/Watch' || path.includes('ServerReflection') || path.endsWith('/ModelStreamInfer');
  if (!streamsOut) {
    return new Promise((resolve) => {
      client.makeUnaryRequest(path, identity, identity, bytes, metadata, options, (err) =>
        resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' }),
      );
    });
  }
  return new Promise((resolve) => {
    const bidi = path.endsWith('/ModelStreamInfer') || path.includes('ServerReflection');
    const stream = bidi
      ? client.makeBidiStreamRequest(path, identity, identity, metadata, options)
      : client.makeServerStreamRequest(path, identity, identity, bytes, metadata, options);
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      resolve(r);
      stream.cancel();
    };
    stream.on('data', (res: Buffer) => {
      if (path.endsWith('/ModelStreamInfer') && def) {
        const msg = pb.ModelStreamInferResponse.decode(res);
        finish(msg.errorMessage ? { code: -1, details: msg.errorMessage, inBand: true } : { code: 0, details: '' });
      } else finish({ code: 0, details: '' });
    });
    stream.on('error', (err: grpc.ServiceError) => finish({ code: err.code, details: err.details }));
    stream.on('end', () => finish({ code: 0, details: 'ended' }));
    if (bidi) {
      (stream as grpc.ClientDuplexStream<Buffer, Buffer>).write(bytes);
    }
  });
}

export function bearer(key: string | undefined, extra: Record<string, string> = {}): grpc.Metadata {
  const md = new grpc.Metadata();
  if (key !== undefined) md.set('authorization', `Bearer ${key}`);
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return md;
}
