// The CORS headers for a request whose Origin the access check allowed: the answer may be
// read by that origin's pages; a preflight is answered here.

import type { IncomingMessage } from 'node:http';
import type { RouteAnswer } from './http-routes.js';

const TOKEN_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** Headers every answer to this request carries, and the answer to a preflight (ends the request). */
export function corsAnswer(req: IncomingMessage): { headers: Record<string, string>; preflight?: RouteAnswer } {
  const origin = req.headers.origin;
  if (origin === undefined) return { headers: { vary: 'origin' } };
  const headers: Record<string, string> = {
    'access-control-allow-origin': origin,
    vary: 'origin',
    'access-control-expose-headers': 'inference-header-content-length, content-encoding',
  };
  if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return { headers };
  const asked = String(req.headers['access-control-request-headers'] ?? '').slice(0, 1024);
  return {
    headers: { ...headers, vary: 'origin, access-control-request-method, access-control-request-headers' },
    preflight: {
      status: 204,
      headers: {
        'access-control-allow-methods': 'GET, POST',
        ...(TOKEN_LIST.test(asked) ? { 'access-control-allow-headers': asked } : {}),
        // Chrome's Private Network Access: an allowed public origin may call a LAN server.
        ...(req.headers['access-control-request-private-network'] === 'true' ? { 'access-control-allow-private-network': 'true' } : {}),
        'access-control-max-age': '600',
      },
    },
  };
}
