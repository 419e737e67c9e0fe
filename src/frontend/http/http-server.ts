// KServe v2 over HTTP/REST (tritonserver's port 8000): node:http for keep-alive
// connections and streaming bodies, find-my-way for Triton's routes. Every request passes
// the access check before its body is read: first whether a web page may call at all
// (Origin, Host: security/origin-policy.ts; CORS headers for allowed origins), then the
// same check as gRPC, on the route's category and the model in its path; answers are JSON (or JSON plus binary tensor data), gzip- or
// deflate-compressed when the client accepts it.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { finished } from 'node:stream';
import { promisify } from 'node:util';
import { deflate, gzip } from 'node:zlib';
import FindMyWay from 'find-my-way';
import { CallCancellation } from '../../core/cancellation.js';
import type { InferenceCore } from '../../core/inference-core.js';
import type { Logger } from '../../log.js';
import type { AccessControl, Credentials, Principal } from '../../security/access-control.js';
import { routeSpec } from '../../security/routes.js';
import { BodyBudget } from './body.js';
import { HANDLERS, type RouteAnswer } from './http-routes.js';
import type { InferBodyLimits } from './infer-json.js';
import { errorAnswer } from './status.js';
import { corsAnswer } from './cors.js';

const gzipAsync = promisify(gzip);
const deflateAsync = promisify(deflate);
/** Smaller answers are not worth compressing. */
const COMPRESS_FROM = 1024;

export interface HttpServerOptions {
  host: string;
  port: number;
  /** tritonserver's --http-max-input-size: the largest request body, after inflating. */
  maxBodyBytes: number;
  access: AccessControl;
  /** Bodies held at once over all connections; the largest JSON part (src/limits.ts). */
  maxBufferedBytes: number;
  maxJsonBytes: number;
  /** The JSON part of one answer (src/limits.ts). */
  maxJsonAnswerBytes: number;
  /** Request-structure bounds, the same as gRPC's (src/limits.ts). */
  limits: InferBodyLimits;
  /** Connections open at once; slow headers and bodies (src/limits.ts). */
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** While an answer is written, its connection closes after this long with no byte written; 0 = the idle timeout only. */
  answerStallTimeoutMs: number;
}

export class HttpFrontend {
  private readonly server: Server;
  private readonly router = FindMyWay({ ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 512 });
  private draining = false;
  private readonly bodies: BodyBudget;

  constructor(
    private readonly core: InferenceCore,
    private readonly log: Logger,
    private readonly opts: HttpServerOptions,
  ) {
    for (const [key, handler] of Object.entries(HANDLERS)) {
      const [method, path] = key.split(' ') as [string, string];
      this.router.on(method as 'GET', path, () => undefined, { key, handler });
    }
    this.server = createServer(
      {
        requireHostHeader: false,
        headersTimeout: opts.headersTimeoutMs,
        requestTimeout: opts.requestTimeoutMs,
        maxHeaderSize: 16 * 1024,
        // How often Node looks for requests past those timeouts (its default, 30 s, would let them run long).
        connectionsCheckingInterval: Math.max(100, Math.min(opts.headersTimeoutMs, opts.requestTimeoutMs) / 5),
      },
      (req, res) => this.serve(req, res),
    );
    // Expect: 100-continue is answered by handle() once the request passed the checks, not by Node up front.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.serve(req, res));
    this.server.maxConnections = opts.maxConnections;
    // A socket idle this long (a client that stopped reading its answer) is closed; longer than
    // the request timeout, so a slow body still gets its 408 first.
    this.server.timeout = 2 * opts.requestTimeoutMs;
    this.bodies = new BodyBudget(opts.maxBufferedBytes);
    this.server.maxHeadersCount = 100;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : this.opts.port);
      });
    });
  }

  /** Stops accepting connections; idle keep-alive connections close now, busy ones after their answer. */
  async close(): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await closed;
  }

  /** Ends the connections still open (after shutdown's grace time). */
  forceClose(): void {
    this.server.closeAllConnections();
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    this.handle(req, res).catch((err: unknown) => {
      this.log.error('HTTP answer failed (a bug)', { error: String(err) });
      res.destroy();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const cancel = new CallCancellation();
    const hold = this.bodies.hold();
    // A pipelined request's response queued behind another never closes if the connection
    // goes first (Node 20): the connection's close ends it too.
    const gone = (): void => {
      hold.release();
      cancel.fire();
    };
    req.socket.once('close', gone);
    res.on('close', () => {
      req.socket.off('close', gone);
      hold.release();
      if (!res.writableFinished) cancel.fire();
    });
    // CORS headers only once the origin is allowed; a body the server did not read closes the connection.
    let cors: Record<string, string> = { vary: 'origin' };
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    const send = (a: RouteAnswer): Promise<void> =>
      this.send(req, res, { ...a, headers: { ...a.headers, ...cors, ...(hasBody && !req.complete ? { connection: 'close' } : {}) } });
    if (this.draining) return send({ status: 503, json: { error: 'the server is shutting down' }, headers: { connection: 'close' } });
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    const where = `${method} ${path.slice(0, 200)}`;
    try {
      this.opts.access.admitBrowser(where, req.headersDistinct['origin'], req.headers.host, peerOf(req));
      const allowed = corsAnswer(req);
      cors = allowed.headers;
      if (allowed.preflight) return await send(allowed.preflight);
      const found = this.router.find(method as 'GET', path);
      if (!found) return send(this.noRoute(method, path));
      const { key, handler } = found.store as { key: string; handler: (typeof HANDLERS)[string] };
      const params = found.params as Record<string, string | undefined>;
      const caller = this.admit(key, req, params);
      // A body declared over the limit is refused without it being sent (the handler answers 413).
      if (hasBody && req.headers.expect?.toLowerCase() === '100-continue' && !(Number(req.headers['content-length'] ?? 0) > this.opts.maxBodyBytes)) {
        res.writeContinue();
      }
      const answer = await handler(this.core, {
        req,
        params,
        caller,
        cancel,
        maxBodyBytes: this.opts.maxBodyBytes,
        limits: this.opts.limits,
        hold,
        maxJsonBytes: this.opts.maxJsonBytes,
        maxJsonAnswerBytes: this.opts.maxJsonAnswerBytes,
      });
      // The body is no longer needed once the core has answered; a client slow to read the
      // answer must not hold the server's body budget.
      hold.release();
      await send(answer);
    } catch (err) {
      hold.release();
      const { status, message, headers: extra } = errorAnswer(err, this.log, where);
      const headers: Record<string, string> = { ...extra, ...(status === 401 ? { 'www-authenticate': 'Bearer realm="inference"' } : {}) };
      await send({ status, json: { error: message }, headers });
    }
  }

  /** Triton's answers for a path no route has: a wrong method on a known path, or not found. */
  private noRoute(method: string, path: string): RouteAnswer {
    const other = ['GET', 'POST'].find((m) => m !== method && this.router.find(m as 'GET', path));
    if (other) return { status: 405, json: { error: `${method} is not allowed on ${path.slice(0, 200)}; use ${other}` }, headers: { allow: other } };
    return { status: 404, json: { error: `no route ${path.slice(0, 200)}` } };
  }

  /** The access check, on the route and the model named in its path; throws its ServeError. */
  private admit(key: string, req: IncomingMessage, params: Record<string, string | undefined>): Principal | undefined {
    const access = this.opts.access;
    if (!access.enabled) return undefined;
    const creds: Credentials = {
      authorization: req.headersDistinct['authorization'] ?? [],
      header: (name) => {
        const v = req.headersDistinct[name.toLowerCase()];
        return v?.length === 1 ? v[0] : undefined;
      },
      certSubject: undefined,
      peer: peerOf(req),
    };
    const who = access.authenticate(key, creds);
    const spec = routeSpec(key);
    access.authorize(who, key, spec?.scope.kind === 'model' ? (params['model'] ?? '') : undefined);
    return who;
  }

  private async send(req: IncomingMessage, res: ServerResponse, a: RouteAnswer): Promise<void> {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = { ...(a.headers ?? {}) };
    let body = a.body ?? (a.json !== undefined ? Buffer.from(JSON.stringify(a.json)) : Buffer.alloc(0));
    if (a.json !== undefined) headers['content-type'] ??= 'application/json';
    const socket = req.socket;
    if (socket.destroyed) return;
    // Held at its uncompressed size from here, so answers waiting for gzip count too.
    const release = this.core.holdAnswer(body.length);
    socket.once('close', release);
    finished(res, () => {
      release();
      socket.off('close', release);
    });
    if (body.length >= COMPRESS_FROM) {
      const enc = acceptedEncoding(String(req.headers['accept-encoding'] ?? ''));
      if (enc) {
        body = await (enc === 'gzip' ? gzipAsync(body) : deflateAsync(body));
        headers['content-encoding'] = enc;
        headers['vary'] = headers['vary'] ? `${headers['vary']}, accept-encoding` : 'accept-encoding';
      }
    }
    if (this.draining) headers['connection'] = 'close';
    headers['content-length'] = String(body.length);
    // Until the client has read it (or is gone), the answer counts against --max-queued-bytes;
    // a client that reads none of it for --answer-stall-timeout loses its connection (Node
    // stops reading a socket while its answer waits, so bytes it sends do not count). A
    // pipelined answer queued behind another has no socket of its own yet, and Node 20 never
    // finishes or closes it when the connection goes: the connection's close releases it too.
    if (this.opts.answerStallTimeoutMs > 0) {
      res.setTimeout(this.opts.answerStallTimeoutMs, () => {
        this.log.warn(`closing a connection whose client read none of its answer in ${this.opts.answerStallTimeoutMs} ms (--answer-stall-timeout)`);
        socket.destroy();
      });
    }
    res.writeHead(a.status, headers);
    res.end(body);
  }
}

function peerOf(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`;
}

/** gzip or deflate when Accept-Encoding allows it (q > 0), gzip first; else none. */
function acceptedEncoding(header: string): 'gzip' | 'deflate' | undefined {
  const allowed = new Map<string, number>();
  for (const part of header.slice(0, 1024).split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((x) => x !== undefined);
    allowed.set(name.trim(), q === undefined ? 1 : Number(q));
  }
  const ok = (n: string): boolean => (allowed.get(n) ?? (allowed.has('*') ? allowed.get('*')! : 0)) > 0;
  return ok('gzip') ? 'gzip' : ok('deflate') ? 'deflate' : undefined;
}
