// API keys: made by `npm run make-api-key`, sent as `authorization: Bearer <key>`, stored in
// the access policy only as "sha256:<hex>". A key is 32 random bytes, so one SHA-256 is
// enough (no password stretching needed); comparison runs over every stored hash with
// timingSafeEqual, so the time taken says nothing about which hash, or how much, matched.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIX = 'tts_';
const MAX_KEY_LENGTH = 512;
const HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** A new random key: "tts_" and 43 base64url characters (256 bits). */
export function newApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** The form stored in the policy file. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

export function isKeyHash(s: unknown): s is string {
  return typeof s === 'string' && HASH_PATTERN.test(s);
}

/**
 * The key in an `authorization` header value, or undefined when it is not
 * "Bearer <key>" (scheme case-insensitive, one space, a key of 1-512 visible characters).
 */
export function bearerKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^bearer ([\x21-\x7e]{1,512})$/i.exec(header);
  return m && m[1]!.length <= MAX_KEY_LENGTH ? m[1] : undefined;
}

/** Index of the stored hash that `presented` hashes to, or -1; every hash is compared. */
export function matchKeyHash(presented: string, hashes: readonly Buffer[]): number {
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found = -1;
  for (let i = 0; i < hashes.length; i++) {
    // No early exit: every hash costs one comparison.
    if (timingSafeEqual(digest, hashes[i]!) && found < 0) found = i;
  }
  return found;
}

/** Raw digest bytes of a "sha256:<hex>" string (checked by isKeyHash first). */
export function keyHashBytes(hash: string): Buffer {
  return Buffer.from(hash.slice('sha256:'.length), 'hex');
}
