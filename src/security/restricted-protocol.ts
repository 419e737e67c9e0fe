// tritonserver's --grpc-restricted-protocol=<category,...>:<key>=<value> and
// --http-restricted-api (same form): a call to a route of a listed category on that
// transport must carry the header `triton-grpc-protocol-<key>` (gRPC) or `<key>` (HTTP)
// with that value. Unlisted categories stay open. The value is a shared secret: compared in constant time
// (both sides hashed to equal length first) and never logged or echoed.

import { createHash, timingSafeEqual } from 'node:crypto';
import { TRITON_CATEGORIES, type Category } from './routes.js';

export type Transport = 'grpc' | 'http';

export interface Restriction {
  /** The frontend whose routes it covers (each flag covers one). */
  readonly transport: Transport;
  readonly categories: ReadonlySet<Category>;
  /** Lower-case header name, e.g. "triton-grpc-protocol-admin-key" (gRPC) or "admin-key" (HTTP). */
  readonly header: string;
  readonly valueDigest: Buffer;
}

export const RESTRICTED_HEADER_PREFIX = 'triton-grpc-protocol-';

/** Headers an HTTP restriction key may not be: the ones the server itself reads. */
const HTTP_RESERVED = new Set([
  'authorization',
  'host',
  'connection',
  'content-length',
  'content-type',
  'content-encoding',
  'transfer-encoding',
  'accept-encoding',
  'inference-header-content-length',
  'origin',
  'access-control-request-method',
  'access-control-request-headers',
  'expect',
  'upgrade',
  'te',
  'keep-alive',
  'proxy-authorization',
]);

/** Parses every occurrence of the flag; `flag` names it in messages. */
export function parseRestrictions(values: readonly string[], flag: string, transport: Transport = 'grpc'): Restriction[] {
  const out: Restriction[] = [];
  const taken = new Map<Category, string>();
  for (const v of values) {
    const colon = v.indexOf(':');
    const eq = v.indexOf('=', colon + 1);
    if (colon <= 0 || eq < 0) throw new Error(`${flag} must be <category,...>:<key>=<value>, e.g. model-repository:admin-key=s3cret`);
    const cats = v
      .slice(0, colon)
      .split(',')
      .map((c) => c.trim());
    const key = v
      .slice(colon + 1, eq)
      .trim()
      .toLowerCase();
    const value = v.slice(eq + 1);
    const categories = new Set<Category>();
    for (const c of cats) {
      if (!(TRITON_CATEGORIES as readonly string[]).includes(c)) {
        throw new Error(`${flag}: '${c}' is not a category; use ${TRITON_CATEGORIES.join(', ')}`);
      }
      const before = taken.get(c as Category);
      if (before !== undefined) throw new Error(`${flag}: category '${c}' is restricted twice (keys '${before}' and '${key}')`);
      taken.set(c as Category, key);
      categories.add(c as Category);
    }
    if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(key))
      throw new Error(`${flag}: key '${key.slice(0, 80)}' must be 1-64 characters of a-z 0-9 _ - (it becomes a header name)`);
    if (transport === 'http' && HTTP_RESERVED.has(key)) throw new Error(`${flag}: key '${key}' is a header the server reads itself; choose another`);
    // Header values arrive trimmed and as latin1: a value with surrounding spaces or other characters could never match.
    if (value.length > 1024 || !/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value)) {
      throw new Error(`${flag}: the value for key '${key}' must be 1-1024 printable ASCII characters, not starting or ending with a space (not shown)`);
    }
    out.push(Object.freeze({ transport, categories, header: transport === 'grpc' ? RESTRICTED_HEADER_PREFIX + key : key, valueDigest: digest(value) }));
  }
  return out;
}

/** The restriction covering `category` on `transport`, if any. */
export function restrictionFor(restrictions: readonly Restriction[], transport: Transport, category: Category): Restriction | undefined {
  return restrictions.find((r) => r.transport === transport && r.categories.has(category));
}

/** Whether `presented` is the restriction's value, in time that does not depend on how much matches. */
export function restrictionSatisfied(r: Restriction, presented: string | undefined): boolean {
  const candidate = digest(presented ?? '');
  // Always compare, so a missing header costs what a wrong one does.
  return timingSafeEqual(candidate, r.valueDigest) && presented !== undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
