// The metrics endpoint: GET /metrics in Prometheus text format, on its own port; over
// HTTPS when TLS material is given (reloaded in place: new handshakes get the new
// certificate, open connections keep theirs). Who may scrape, and which models a scrape
// shows, is the access check's decision, passed in as `admit`.

import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
/** What a scrape reads: one server's exporter, or every process's (cluster-metrics.ts). */
export interface MetricsSource {
  text(): Promise<string>;
  contentType(): string;
}

export type Admission = { ok: true; visible: ((model: string) => boolean) | undefined } | { ok: false; status: 401 | 403; message: string };

export interface MetricsTls {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
  /** Ask for a client certificate (verified against `ca`); `required` refuses a handshake without one. */
  requestCert: boolean;
  required: boolean;
}

export interface MetricsEndpointOptions {
  tls?: MetricsTls | undefined;
  /** Decides each scrape; without it every scrape sees every model. */
  admit?: ((req: IncomingMessage, verifiedPeerCert: Buffer | undefined) => Admission) | undefined;
}

export class MetricsEndpoint {
  private readonly server: Server;

  constructor(
    private readonly exporter: MetricsSource,
    private readonly opts: MetricsEndpointOptions = {},
  ) {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    const tls = opts.tls;
    this.server = tls
      ? createHttpsServer(
          { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), requestCert: tls.requestCert, rejectUnauthorized: tls.required },
          handler,
        )
      : createHttpServer(handler);
  }

  /** New TLS material for new connections (a certificate reload). */
  setTls(tls: { cert: Buffer; key: Buffer; ca: Buffer | undefined }): void {
    (this.server as unknown as { setSecureContext?: (o: object) => void }).setSecureContext?.({
      cert: tls.cert,
      key: tls.key,
      ...(tls.ca ? { ca: tls.ca } : {}),
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at GET /metrics\n');
      return;
    }
    const socket = req.socket as Partial<TLSSocket>;
    const peerCert = socket.authorized ? socket.getPeerCertificate?.()?.raw : undefined;
    const admission: Admission = this.opts.admit?.(req, peerCert) ?? { ok: true, visible: undefined };
    if (!admission.ok) {
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (admission.status === 401) headers['www-authenticate'] = 'Bearer realm="metrics"';
      res.writeHead(admission.status, headers).end(`${admission.message}\n`);
      return;
    }
    this.exporter.text().then(
      (text) => res.writeHead(200, { 'content-type': this.exporter.contentType() }).end(admission.visible ? onlyModels(text, admission.visible) : text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
    );
  }

  /** Resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }
}

/** Drops the sample lines of models the caller may not see; lines without a model label stay. */
export function onlyModels(text: string, visible: (model: string) => boolean): string {
  return text
    .split('\n')
    .filter((line) => {
      if (line.startsWith('#')) return true;
      const m = /[{,]model="((?:[^"\\]|\\.)*)"/.exec(line);
      return !m || visible(m[1]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)));
    })
    .join('\n');
}
