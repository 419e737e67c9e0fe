// Per-connection rules grpc-js does not enforce itself, applied to its HTTP/2 sessions:
// a connection that opens no stream within a time is closed (a preface and then nothing
// must not hold a socket for ever), a client that pings too often while nothing flows
// gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (tritonserver's ping-strike flags), and
// the number of connections is capped at accept.
//
// grpc-js keeps its HTTP/2 servers in a private field; it is read once after binding and
// its absence is a start-up error, never a silent loss of these guards.

import type { Server } from '@grpc/grpc-js';
import type { Http2Server, Http2Session } from 'node:http2';
import { constants } from 'node:http2';
import type { Logger } from '../../log.js';

export interface ConnectionGuardOptions {
  /** A connection that has opened no stream this long after accept is closed; 0 = never. */
  firstRequestTimeoutMs: number;
  /** Pings closer together than this while no call is open count as strikes. */
  minRecvPingIntervalMs: number;
  /** Strikes allowed before GOAWAY; 0 = unlimited. */
  maxPingStrikes: number;
  /** Whether pings with no call open are allowed at the interval above (else at 2 hours, as gRPC core). */
  permitWithoutCalls: boolean;
  /** Connections open at once; more are refused at accept. */
  maxConnections: number;
}

/** gRPC core's interval for pings when no call is open and permit-without-calls is off. */
const NO_CALL_PING_INTERVAL_MS = 2 * 60 * 60 * 1000;

export function guardConnections(server: Server, opts: ConnectionGuardOptions, log: Logger): void {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    throw new Error('cannot reach the HTTP/2 servers of @grpc/grpc-js (its internals changed); connection limits cannot be applied');
  }
  for (const h2 of servers.keys()) {
    h2.maxConnections = opts.maxConnections;
    h2.on('session', (session: Http2Session) => guardSession(session, opts, log));
  }
}

function guardSession(session: Http2Session, opts: ConnectionGuardOptions, log: Logger): void {
  let open = 0;
  let strikes = 0;
  let lastPingAtMs = -Infinity;
  let firstTimer: NodeJS.Timeout | undefined;
  if (opts.firstRequestTimeoutMs > 0) {
    firstTimer = setTimeout(() => {
      log.verbose(`closing a connection that sent no request within ${opts.firstRequestTimeoutMs} ms`);
      session.destroy();
    }, opts.firstRequestTimeoutMs);
    firstTimer.unref();
  }
  session.on('stream', (stream) => {
    clearTimeout(firstTimer);
    firstTimer = undefined;
    open++;
    strikes = 0;
    stream.once('close', () => open--);
  });
  session.on('ping', () => {
    const now = performance.now();
    const interval = open === 0 && !opts.permitWithoutCalls ? NO_CALL_PING_INTERVAL_MS : opts.minRecvPingIntervalMs;
    if (open === 0 && now - lastPingAtMs < interval) strikes++;
    lastPingAtMs = now;
    if (opts.maxPingStrikes > 0 && strikes > opts.maxPingStrikes && !session.closed) {
      log.warn('closing a connection that pinged too often (GOAWAY too_many_pings)');
      session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
      session.close();
    }
  });
  session.once('close', () => clearTimeout(firstTimer));
}
