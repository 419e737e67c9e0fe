// How one load worker sends a request: over gRPC (grpc-js, the request encoded once and
// sent as bytes, the answer not decoded) or over HTTP/REST (node:http keep-alive, binary
// tensor data), each over `connections` connections of its own.

import { request as httpRequest, Agent } from 'node:http';
import { Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import { connection, parseHeaders, type ConnectionOptions } from './connection.js';
import type { Send } from './closed-loop.js';

export type Protocol = 'grpc' | 'http';

export type Payload = { protocol: 'grpc'; bytes: Uint8Array } | { protocol: 'http'; path: string; body: Uint8Array; headers: Record<string, string> };

export interface TransportSpec {
  /** host:port */
  address: string;
  connections: number;
  conn: ConnectionOptions;
  payload: Payload;
  timeoutMs: number;
}

export interface Transport {
  /** The sender of caller (or arrival) i: callers are spread over the connections. */
  sendFor(i: number): Send;
  close(): void;
}

const INFER = '/inference.GRPCInferenceService/ModelInfer';
const asIs = (b: Buffer): Buffer => b;

export function openTransport(spec: TransportSpec): Transport {
  return spec.payload.protocol === 'grpc' ? grpcTransport(spec, spec.payload.bytes) : httpTransport(spec, spec.payload);
}

function grpcTransport(spec: TransportSpec, bytes: Uint8Array): Transport {
  const conn = connection(spec.conn);
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // A subchannel pool of its own per client: otherwise grpc-js shares one connection between them.
  const clients = Array.from(
    { length: spec.connections },
    () =>
      new Client(spec.address, conn.credentials, {
        ...conn.options,
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': -1,
      }),
  );
  const senders = clients.map(
    (client): Send =>
      () =>
        new Promise((resolve, reject) => {
          client.makeUnaryRequest(INFER, asIs, asIs, body, new Metadata(), { deadline: Date.now() + spec.timeoutMs }, (err: ServiceError | null) =>
            err ? reject(err) : resolve(undefined),
          );
        }),
  );
  return { sendFor: (i) => senders[i % senders.length]!, close: () => clients.forEach((c) => c.close()) };
}

function httpTransport(spec: TransportSpec, p: Extract<Payload, { protocol: 'http' }>): Transport {
  if (spec.conn.caFile || spec.conn.certFile) throw new Error('TLS over HTTP is not supported (the server has no HTTPS port); use -i grpc or a TLS proxy');
  const [host, port] = splitAddress(spec.address);
  const extra = Object.fromEntries(parseHeaders(spec.conn.headers));
  const headers = { ...p.headers, ...extra, 'content-length': String(p.body.byteLength) };
  const body = Buffer.from(p.body.buffer, p.body.byteOffset, p.body.byteLength);
  // One socket per agent: `connections` keep-alive connections, callers queued on them.
  const agents = Array.from({ length: spec.connections }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const senders = agents.map(
    (agent): Send =>
      () =>
        new Promise((resolve, reject) => {
          const req = httpRequest({ host, port, path: p.path, method: 'POST', agent, headers, timeout: spec.timeoutMs }, (res) => {
            // An answer cut off (the server closed the connection) is an error of this call, not of the thread.
            res.on('error', reject);
            if (res.statusCode === 200) {
              res.resume();
              res.on('end', () => resolve(undefined));
              return;
            }
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text.length < 300 ? (text += c) : undefined));
            res.on('end', () => reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`)));
          });
          req.on('timeout', () => req.destroy(new Error(`no answer within ${spec.timeoutMs} ms`)));
          req.on('error', reject);
          req.end(body);
        }),
  );
  return { sendFor: (i) => senders[i % senders.length]!, close: () => agents.forEach((a) => a.destroy()) };
}

export function splitAddress(address: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) throw new Error(`an address must be host:port, got '${address}'`);
  return [m[1]!.replace(/^\[(.*)\]$/, '$1'), Number(m[2])];
}
