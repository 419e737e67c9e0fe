// Browsers: a web page on any site can make its visitor's browser POST to a server on
// 127.0.0.1 or the LAN (a "simple" request needs no preflight), so without a guard any page
// could load, unload or run models. Browsers mark such requests with an Origin header;
// tools and client libraries send none. A request with an Origin is served only when that
// origin is one the operator allowed (--http-cors-origin), and then with the CORS headers
// that let the page read the answer; any other origin gets 403 before any work.

import type { IncomingMessage } from 'node:http';
import type { RouteAnswer } from './http-routes.js';

export interface OriginCheck {
  /** Set when the request ends here: a refusal, or the answer to a preflight. */
  answer?: RouteAnswer;
  /** Headers every answer to this request carries. */
  headers: Record<string, string>;
}

const NONE: OriginCheck = Object.freeze({ headers: Object.freeze({}) as Record<string, string> });
const TOKEN_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** Checks one --http-cors-origin value: an exact origin (scheme://host[:port]). */
export function parseOrigin(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== value) {
    throw new Error(
      `--http-cors-origin must be an exact origin such as https://app.example.com or http://localhost:3000 (no path, no '*', not 'null'), got '${value.slice(0, 200)}'`,
    );
  }
  return value;
}

export class OriginGuard {
  private readonly allowed: ReadonlySet<string>;

  constructor(allowed: readonly string[]) {
    this.allowed = new Set(allowed);
  }

  check(req: IncomingMessage): OriginCheck {
    const origins = req.headersDistinct['origin'];
    if (!origins) return NONE;
    const origin = origins.length === 1 ? origins[0]! : '';
    if (!this.allowed.has(origin)) {
      const shown = origin.slice(0, 200).replace(/[^\x20-\x7e]/g, '?');
      return {
        headers: {},
        answer: { status: 403, json: { error: `requests from the web origin '${shown}' are refused; the operator allows origins with --http-cors-origin` } },
      };
    }
    const headers: Record<string, string> = {
      'access-control-allow-origin': origin,
      vary: 'origin',
      'access-control-expose-headers': 'inference-header-content-length, content-encoding',
    };
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      const asked = String(req.headers['access-control-request-headers'] ?? '').slice(0, 1024);
      return {
        headers,
        answer: {
          status: 204,
          headers: {
            'access-control-allow-methods': 'GET, POST',
            ...(TOKEN_LIST.test(asked) ? { 'access-control-allow-headers': asked } : {}),
            'access-control-max-age': '600',
          },
        },
      };
    }
    return { headers };
  }
}
