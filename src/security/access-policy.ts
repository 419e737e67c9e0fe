// The access policy file (--access-policy FILE, YAML or JSON): who the principals are, how
// each is recognised (API key hashes, client certificate subjects) and what each may do
// (categories of routes, on which models). Parsed and checked whole, then frozen; a file
// that breaks any rule is refused with the rule and where it broke.
//
//   anonymous:                  # grants for every caller, with or without credentials
//     - categories: [health]    # (default: health on the server and every model)
//       models: ["*"]
//   principals:
//     - name: ocr-app
//       api_key_sha256: "sha256:<64 hex>"        # one string or a list
//       certificate_subject: "CN=ocr-app,O=Example"  # one string or a list
//       grants:
//         - categories: [inference, metadata]
//           models: ["ocr_*", simple]           # a grant without models covers only
//                                                # the category's server-wide routes

import { parse as parseYaml } from 'yaml';
import { CATEGORIES, type Category } from './routes.js';
import { isModelPattern, modelMatcher } from './model-glob.js';
import { isKeyHash } from './api-key.js';
import { escapeControl } from '../log.js';

export interface Grant {
  readonly categories: ReadonlySet<Category>;
  /** As written, for messages. */
  readonly modelPatterns: readonly string[];
  readonly matchesModel: (name: string) => boolean;
}

export interface PolicyPrincipal {
  readonly name: string;
  readonly grants: readonly Grant[];
}

export interface AccessPolicy {
  readonly anonymous: readonly Grant[];
  readonly principals: readonly PolicyPrincipal[];
  /** Every stored key hash (32 bytes each), and the principal each belongs to, index for index. */
  readonly keyHashes: readonly Buffer[];
  readonly keyOwners: readonly PolicyPrincipal[];
  /** Canonical certificate subject → principal. */
  readonly bySubject: ReadonlyMap<string, PolicyPrincipal>;
}

export class PolicyError extends Error {}

const MAX_POLICY_BYTES = 1 << 20;
const MAX_PRINCIPALS = 10_000;
const MAX_LIST = 1_000;
const NAME = /^[A-Za-z0-9_.@:-]{1,128}$/;

/** Parses a policy file's text; `source` (a file name) is only used in messages. */
export function parseAccessPolicy(text: string, source: string): AccessPolicy {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw new PolicyError(`${source}: larger than ${MAX_POLICY_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = /\.json$/i.test(source) ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100, uniqueKeys: true });
  } catch (err) {
    throw new PolicyError(`${source}: not valid ${/\.json$/i.test(source) ? 'JSON' : 'YAML'}: ${firstLine(err)}`);
  }
  const top = record(doc, source, ['version', 'anonymous', 'principals']);
  if (top['version'] !== undefined && top['version'] !== 1) throw new PolicyError(`${source}: version must be 1`);
  const anonymous =
    top['anonymous'] === undefined
      ? [grant({ categories: ['health'], models: ['*'] }, `${source}: default anonymous grant`)]
      : list(top['anonymous'], `${source}: anonymous`).map((g, i) => grant(g, `${source}: anonymous[${i}]`));
  const principals: PolicyPrincipal[] = [];
  const keyHashes: Buffer[] = [];
  const keyOwners: PolicyPrincipal[] = [];
  const bySubject = new Map<string, PolicyPrincipal>();
  const names = new Set<string>();
  const seenHashes = new Set<string>();
  const rawPrincipals = top['principals'] === undefined ? [] : list(top['principals'], `${source}: principals`);
  if (rawPrincipals.length > MAX_PRINCIPALS) throw new PolicyError(`${source}: more than ${MAX_PRINCIPALS} principals`);
  rawPrincipals.forEach((raw, i) => {
    const where = `${source}: principals[${i}]`;
    const p = record(raw, where, ['name', 'api_key_sha256', 'certificate_subject', 'grants']);
    const name = p['name'];
    if (typeof name !== 'string' || !NAME.test(name)) throw new PolicyError(`${where}: name must be 1-128 characters of A-Z a-z 0-9 _ . @ : -`);
    if (names.has(name)) throw new PolicyError(`${where}: principal '${name}' is named twice`);
    names.add(name);
    const at = `${source}: principal '${name}'`;
    const hashes = strings(p['api_key_sha256'], `${at}: api_key_sha256`);
    const subjects = strings(p['certificate_subject'], `${at}: certificate_subject`);
    if (hashes.length === 0 && subjects.length === 0) throw new PolicyError(`${at}: needs api_key_sha256 or certificate_subject (or both)`);
    const grants = p['grants'] === undefined ? [] : list(p['grants'], `${at}: grants`).map((g, j) => grant(g, `${at}: grants[${j}]`));
    const principal: PolicyPrincipal = Object.freeze({ name, grants: Object.freeze(grants) });
    for (const h of hashes) {
      // The file holds hashes only: a plaintext key pasted here is refused, not accepted.
      if (!isKeyHash(h))
        throw new PolicyError(`${at}: api_key_sha256 must be 'sha256:' and 64 hex digits (make one with npm run make-api-key); the value is not shown`);
      const hex = h.slice(7).toLowerCase();
      if (seenHashes.has(hex)) throw new PolicyError(`${at}: an api_key_sha256 appears twice in the policy`);
      seenHashes.add(hex);
      keyHashes.push(Buffer.from(hex, 'hex'));
      keyOwners.push(principal);
    }
    for (const s of subjects) {
      const canonical = canonicalSubject(s);
      if (!canonical)
        throw new PolicyError(`${at}: certificate_subject '${escapeControl(s.slice(0, 200))}' must be attribute=value pairs, e.g. "CN=client,O=Example"`);
      if (bySubject.has(canonical)) throw new PolicyError(`${at}: certificate_subject '${canonical}' belongs to two principals`);
      bySubject.set(canonical, principal);
    }
    principals.push(principal);
  });
  return Object.freeze({
    anonymous: Object.freeze(anonymous),
    principals: Object.freeze(principals),
    keyHashes: Object.freeze(keyHashes),
    keyOwners: Object.freeze(keyOwners),
    bySubject,
  });
}

/**
 * A subject as "CN=a,O=b": attribute=value pairs in certificate order, spaces around the
 * separators dropped, attribute names upper-cased ("cn" and "CN" are one). Accepts Node's X509Certificate.subject (one pair a line), OpenSSL's
 * "CN = a, O = b" and "/CN=a/O=b". Undefined when it is not such pairs.
 */
export function canonicalSubject(s: string): string | undefined {
  if (s.length === 0 || s.length > 1024 || /[\u0000-\u001f\u007f]/.test(s.replace(/\n/g, ''))) return undefined;
  const text = s.trim().replace(/^subject\s*=\s*/i, '');
  const parts = text.startsWith('/') ? text.slice(1).split('/') : text.split(/\s*[\n,]\s*/);
  const pairs: string[] = [];
  for (const part of parts) {
    const m = /^\s*([A-Za-z][A-Za-z0-9.]*)\s*=\s*(.*?)\s*$/.exec(part);
    if (!m || m[2] === '') return undefined;
    pairs.push(`${m[1]!.toUpperCase()}=${m[2]}`);
  }
  return pairs.length > 0 ? pairs.join(',') : undefined;
}

function grant(raw: unknown, where: string): Grant {
  const g = record(raw, where, ['categories', 'models']);
  const cats = strings(g['categories'], `${where}: categories`);
  if (cats.length === 0) throw new PolicyError(`${where}: categories must list at least one of ${CATEGORIES.join(', ')}`);
  for (const c of cats) {
    if (!(CATEGORIES as readonly string[]).includes(c)) {
      throw new PolicyError(`${where}: '${escapeControl(c.slice(0, 100))}' is not a category; use ${CATEGORIES.join(', ')}`);
    }
  }
  const patterns = strings(g['models'], `${where}: models`);
  for (const p of patterns) {
    if (!isModelPattern(p))
      throw new PolicyError(`${where}: model pattern '${escapeControl(p.slice(0, 100))}' must be 1-255 characters of A-Z a-z 0-9 _ . - and the wildcards * ?`);
  }
  const matchers = patterns.map(modelMatcher);
  return Object.freeze({
    categories: new Set(cats as Category[]),
    modelPatterns: Object.freeze(patterns),
    matchesModel: (name: string) => matchers.some((m) => m(name)),
  });
}

function record(v: unknown, where: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PolicyError(`${where}: must be a mapping`);
  for (const k of Object.keys(v)) {
    // An unknown key is most likely a typo, and a typo in a security policy must not pass.
    if (!keys.includes(k)) throw new PolicyError(`${where}: unknown key '${escapeControl(k.slice(0, 100))}'; allowed: ${keys.join(', ')}`);
  }
  return v as Record<string, unknown>;
}

function list(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new PolicyError(`${where}: must be a list`);
  if (v.length > MAX_PRINCIPALS) throw new PolicyError(`${where}: more than ${MAX_PRINCIPALS} entries`);
  return v;
}

/** One string or a list of strings. */
function strings(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  if (arr.length > MAX_LIST) throw new PolicyError(`${where}: more than ${MAX_LIST} entries`);
  return arr.map((x) => {
    if (typeof x !== 'string') throw new PolicyError(`${where}: must be a string or a list of strings`);
    return x;
  });
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
}
