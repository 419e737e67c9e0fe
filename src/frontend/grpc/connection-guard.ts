// Per-connection rules grpc-js does not enforce itself, applied to its HTTP/2 sessions:
// a connection that opens no stream within a time is closed (a preface and then nothing
// must not hold a socket for ever), a client that pings too often while nothing flows
// gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (tritonserver's ping-strike flags), the
// number of connections is capped at accept, a stream whose answer has waited for its
// client to read it past --answer-stall-timeout is reset, and each connection's receive
// window is --grpc-connection-window (grpc-js leaves Node's 64 KiB).
//
// grpc-js keeps its HTTP/2 servers in a private field; it is read once after binding and
// its absence is a start-up error, never a silent loss of these guards.

import type { Server } from '@grpc/grpc-js';
import type { Http2Server, Http2Session, ServerHttp2Stream } from 'node:http2';
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
  /** A stream with a write pending and none completed this long is reset; 0 = never. */
  answerStallTimeoutMs: number;
  /** The connection-level HTTP/2 receive window. */
  connectionWindowBytes: number;
}

/** gRPC core's interval for pings when no call is open and permit-without-calls is off. */
const NO_CALL_PING_INTERVAL_MS = 2 * 60 * 60 * 1000;

export function guardConnections(server: Server, opts: ConnectionGuardOptions, log: Logger): void {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    throw new Error('cannot reach the HTTP/2 servers of @grpc/grpc-js (its internals changed); connection limits cannot be applied');
  }
  const stalls = opts.answerStallTimeoutMs > 0 ? new StallWatch(opts.answerStallTimeoutMs, log) : undefined;
  for (const h2 of servers.keys()) {
    h2.maxConnections = opts.maxConnections;
    h2.on('session', (session: Http2Session) => {
      guardSession(session, opts, log);
      if (stalls) session.on('stream', (stream: ServerHttp2Stream) => stalls.watch(stream));
    });
  }
}

/**
 * grpc-js writes each answer message whole, and a write completes only once HTTP/2 flow
 * control has let all of it out. A stream with a write pending and none completed for the
 * timeout has a client reading nothing of it: the stream is reset, which cancels its call
 * and gives its answers' bytes back to --max-queued-bytes. Completions are counted, not
 * bytes waiting: a busy stream's next write starts as the last one completes, so the bytes
 * waiting can stay the same while answers flow.
 */
class StallWatch {
  private readonly streams = new Map<ServerHttp2Stream, { pending: number; progressAtMs: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  watch(stream: ServerHttp2Stream): void {
    const state = { pending: 0, progressAtMs: performance.now() };
    this.streams.set(stream, state);
    stream.once('close', () => this.streams.delete(stream));
    const write = stream.write;
    // Every write of this stream, counted until its callback: grpc-js passes (chunk, callback).
    stream.write = function (this: ServerHttp2Stream, chunk: unknown, ...rest: unknown[]): boolean {
      const cbIndex = rest.findIndex((x) => typeof x === 'function');
      const cb = cbIndex >= 0 ? (rest[cbIndex] as (err?: Error | null) => void) : undefined;
      if (state.pending === 0) state.progressAtMs = performance.now();
      state.pending++;
      const done = (err?: Error | null): void => {
        state.pending--;
        state.progressAtMs = performance.now();
        cb?.(err);
      };
      const args = cbIndex >= 0 ? rest.map((x, k) => (k === cbIndex ? done : x)) : [...rest, done];
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...args);
    } as typeof stream.write;
    this.timer ??= setInterval(() => this.sweep(), Math.max(50, Math.min(1000, this.timeoutMs / 4))).unref();
  }

  private sweep(): void {
    const now = performance.now();
    for (const [stream, s] of this.streams) {
      if (s.pending === 0 || now - s.progressAtMs < this.timeoutMs) continue;
      this.log.warn(
        `resetting a stream whose client read none of its answer (${stream.writableLength} bytes) in ${this.timeoutMs} ms (--answer-stall-timeout)`,
      );
      this.streams.delete(stream);
      stream.close(constants.NGHTTP2_CANCEL);
    }
    if (this.streams.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

function guardSession(session: Http2Session, opts: ConnectionGuardOptions, log: Logger): void {
  if (!session.destroyed) session.setLocalWindowSize(opts.connectionWindowBytes);
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
