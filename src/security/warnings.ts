// Start-up warnings for set-ups that are open to whoever can reach the port.

import { isIP } from 'node:net';
import type { ServerOptions } from '../server-options.js';

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export function securityWarnings(opts: ServerOptions): string[] {
  const s = opts.security;
  const out: string[] = [];
  const httpExposed = opts.allowHttp && !isLoopback(opts.httpHost);
  const exposed = !isLoopback(opts.grpcHost) || httpExposed || (opts.allowMetrics && !isLoopback(opts.metricsHost));
  if (!s.accessPolicyFile && exposed) {
    out.push(
      `no --access-policy: anyone who can reach ${opts.grpcHost}:${opts.grpcPort}${opts.allowHttp ? ` or ${opts.httpHost}:${opts.httpPort}` : ''} may infer on, reconfigure and read every model (README "Security")`,
    );
  }
  if ((s.accessPolicyFile || s.restrictions.some((r) => r.transport === 'http')) && httpExposed) {
    out.push(
      'HTTP/REST is plaintext (TLS on it is not built yet): API keys and restricted-protocol headers sent to it are readable on the path; put a TLS proxy in front or --allow-http=false',
    );
  }
  if (s.accessPolicyFile && !s.grpcTls && !isLoopback(opts.grpcHost)) {
    out.push('an access policy over plaintext gRPC: API keys cross the network readable by anyone on the path; add --grpc-use-ssl=true');
  }
  if (s.accessPolicyFile && opts.allowMetrics && !s.metricsTls && !isLoopback(opts.metricsHost)) {
    out.push('the metrics endpoint is plaintext HTTP: API keys sent to it are readable on the path; add --metrics-use-ssl=true');
  }
  if (s.restrictions.some((r) => r.transport === 'grpc') && !s.grpcTls && !isLoopback(opts.grpcHost)) {
    out.push('--grpc-restricted-protocol over plaintext gRPC: the header values cross the network readable; add --grpc-use-ssl=true');
  }
  return out;
}
