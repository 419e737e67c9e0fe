// How the load generator reaches a server: plaintext or TLS (perf_analyzer's
// --ssl-grpc-* flags), with extra headers on every call (its -H, e.g. an API key).

import { readFileSync } from 'node:fs';
import { credentials, InterceptingCall, type ChannelCredentials, type ClientOptions, type Interceptor } from '@grpc/grpc-js';

export interface ConnectionOptions {
  /** TLS with this CA bundle (PEM file). */
  caFile?: string | undefined;
  /** Client certificate and key for mutual TLS. */
  certFile?: string | undefined;
  keyFile?: string | undefined;
  /** "name: value" headers sent on every call. */
  headers?: readonly string[] | undefined;
}

export interface Connection {
  credentials: ChannelCredentials;
  options: ClientOptions;
}

export function connection(o: ConnectionOptions = {}): Connection {
  const read = (f: string | undefined): Buffer | null => (f ? readFileSync(f) : null);
  const creds = o.caFile || o.certFile ? credentials.createSsl(read(o.caFile), read(o.keyFile), read(o.certFile)) : credentials.createInsecure();
  const headers = parseHeaders(o.headers);
  const withHeaders: Interceptor = (options, next) =>
    new InterceptingCall(next(options), {
      start: (metadata, listener, nextStart) => {
        for (const [k, v] of headers) metadata.set(k, v);
        nextStart(metadata, listener);
      },
    });
  return { credentials: creds, options: headers.length > 0 ? { interceptors: [withHeaders] } : {} };
}

/** -H values, 'name: value' each, as lower-case names and values. */
export function parseHeaders(hs: readonly string[] = []): Array<readonly [string, string]> {
  return hs.map((h) => {
    const i = h.indexOf(':');
    if (i <= 0) throw new Error(`a header must be 'name: value', got '${h.slice(0, 40)}'`);
    return [h.slice(0, i).trim().toLowerCase(), h.slice(i + 1).trim()] as const;
  });
}
