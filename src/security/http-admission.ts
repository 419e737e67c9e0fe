// The access check for HTTP entry points (today the metrics scrape): credentials from the
// request headers and the verified client certificate, statuses 401 / 403 for the two
// refusals. The decision itself is access-control.ts's, as for gRPC.

import { X509Certificate } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Code, ServeError } from '../errors.js';
import type { AccessControl, Credentials } from './access-control.js';
import { MetricsEndpoint, type Admission, type MetricsSource } from '../metrics/http-endpoint.js';
import type { ServerOptions } from '../server-options.js';
import type { Security } from './security.js';

export function httpCredentials(headers: IncomingHttpHeaders, peerCert: Buffer | undefined, peer: string): Credentials {
  const all = (name: string): string[] => {
    const v = headers[name];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  let subject: string | undefined | null = null;
  return {
    authorization: all('authorization'),
    header: (name) => {
      const v = all(name);
      return v.length === 1 ? v[0] : undefined;
    },
    get certSubject(): string | undefined {
      if (subject === null) subject = peerCert ? new X509Certificate(peerCert).subject : undefined;
      return subject;
    },
    peer,
  };
}

/** Admission for GET /metrics: who may scrape, and which models the scrape shows them. */
export function metricsAdmission(access: AccessControl): (req: IncomingMessage, peerCert: Buffer | undefined) => Admission {
  const route = 'GET /metrics';
  return (req, peerCert) => {
    const creds = httpCredentials(req.headers, peerCert, `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`);
    try {
      // Web pages (Origin) and rebound DNS names (Host) are refused here as on the HTTP API.
      access.admitBrowser(route, req.headersDistinct['origin'], req.headers.host, creds.peer);
      const who = access.authenticate(route, creds);
      access.authorize(who, route);
      return { ok: true, visible: access.hasPolicy ? (model) => access.canSee(who, 'metrics', model) : undefined };
    } catch (err) {
      if (!(err instanceof ServeError)) throw err;
      return { ok: false, status: err.code === Code.PERMISSION_DENIED ? 403 : 401, message: err.message };
    }
  };
}

/** The metrics port: TLS and the access check as configured, reloading certificates in place. */
export function metricsEndpointFor(source: MetricsSource, opts: Pick<ServerOptions, 'security'>, security: Security): MetricsEndpoint {
  const tls = security.metricsTls;
  const mutual = opts.security.metricsTls?.mutual ?? false;
  const endpoint = new MetricsEndpoint(source, {
    tls: tls ? { ...tls.current, requestCert: tls.current.ca !== undefined, required: mutual } : undefined,
    admit: metricsAdmission(security.access),
  });
  tls?.onChange((m) => endpoint.setTls(m));
  return endpoint;
}
