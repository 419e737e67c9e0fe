// Which web pages may call the HTTP API. Any page can make its visitor's browser POST to
// a server on 127.0.0.1 or the LAN (a "simple" request needs no preflight), so without a
// rule any page could load, unload or run models. Browsers mark such requests with an
// Origin header; tools and client libraries send none. A request with an Origin is
// served only when the operator allowed that exact origin (--http-cors-origin); the
// access check (access-control.ts) refuses the others, audited like any denial.
//
// A page on a rebound DNS name is same-origin and sends no Origin on GETs: the optional
// --http-allowed-host list closes that by refusing Host names outside it.

import { isIP } from 'node:net';

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

/** Checks one --http-allowed-host value: a DNS name, lower case, no port. */
export function parseHostName(value: string): string {
  if (!/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(value)) {
    throw new Error(`--http-allowed-host must be a host name in lower case without a port, such as inference.example.com, got '${value.slice(0, 200)}'`);
  }
  return value;
}

export class OriginPolicy {
  private readonly origins: ReadonlySet<string>;
  private readonly hosts: ReadonlySet<string> | undefined;

  constructor(origins: readonly string[] = [], hosts: readonly string[] = []) {
    this.origins = new Set(origins);
    this.hosts = hosts.length > 0 ? new Set(hosts) : undefined;
  }

  /** The reason to refuse a request with these Origin values (absent: no Origin header), or undefined. */
  refusal(origins: readonly string[] | undefined): string | undefined {
    if (origins === undefined) return undefined;
    const origin = origins.length === 1 ? origins[0]! : '';
    if (this.origins.has(origin)) return undefined;
    return `requests from the web origin '${printable(origins.join(', '))}' are refused; the operator allows origins with --http-cors-origin`;
  }

  /**
   * The reason to refuse a Host header, when --http-allowed-host is given: IP literals and
   * localhost always pass (a rebinding page cannot choose them), other names only if listed.
   */
  hostRefusal(host: string | undefined): string | undefined {
    if (!this.hosts || host === undefined) return undefined;
    const name = host
      .replace(/:\d+$/, '')
      .replace(/^\[(.*)\]$/, '$1')
      .toLowerCase();
    if (isIP(name) !== 0 || name === 'localhost' || this.hosts.has(name)) return undefined;
    return `the Host '${printable(host)}' is not one this server answers to; the operator lists names with --http-allowed-host`;
  }
}

function printable(s: string): string {
  return s.slice(0, 200).replace(/[^\x20-\x7e]/g, '?');
}
