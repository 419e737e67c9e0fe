// The keys of models stored encrypted at rest, named at start only: --model-key-file FILE
// and/or --model-key-env NAME (an environment variable holding the same text). The text is
// entries `<key id>:<key>` separated by newlines or commas, '#' starting a comment; a key
// is 32 bytes (AES-256) as base64 or hex. Key ids are not secret (they are in each
// encrypted file's header and in messages); keys are never logged, and messages about a
// bad entry name its line and key id, never its value.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';

/** At most 32 characters: shorter than any key as text, so a key pasted as an id is refused, not echoed. */
export const KEY_ID = /^[A-Za-z0-9_.-]{1,32}$/;
export const KEY_ID_RULE = 'a key id is 1 to 32 of A-Z a-z 0-9 _ . -';
const MAX_KEY_TEXT = 64 << 10;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export interface ModelKeyRing {
  /** The key with this id, or undefined. */
  get(id: string): Buffer | undefined;
  readonly ids: readonly string[];
  /** Where the keys came from, for messages ("keys.txt", "$MODEL_KEYS"). */
  readonly source: string;
}

export interface ModelKeySources {
  keyFile?: string | undefined;
  keyEnv?: string | undefined;
}

export interface LoadedKeys {
  ring: ModelKeyRing | undefined;
  /** Things an operator should hear at start (a key file others can read). */
  warnings: string[];
}

/** Reads the key sources; throws an Error naming the source and the entry when one is bad. */
export function loadModelKeys(from: ModelKeySources, env: NodeJS.ProcessEnv = process.env): LoadedKeys {
  const keys = new Map<string, Buffer>();
  const sources: string[] = [];
  const warnings: string[] = [];
  if (from.keyFile) {
    const { text, mode } = readKeyFile(from.keyFile);
    const name = basename(from.keyFile);
    if ((mode & 0o077) !== 0) warnings.push(`--model-key-file ${name} can be read by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
    addEntries(keys, text, `--model-key-file ${name}`);
    sources.push(name);
  }
  if (from.keyEnv) {
    // The value is never echoed: a key given here by mistake must not reach the log.
    if (!ENV_NAME.test(from.keyEnv)) throw new Error(`--model-key-env takes the name of an environment variable (letters, digits, _), not its value`);
    const text = env[from.keyEnv];
    if (text === undefined || text.trim() === '') throw new Error(`--model-key-env: the environment variable it names is not set or empty`);
    if (text.length > MAX_KEY_TEXT) throw new Error(`--model-key-env: ${from.keyEnv} is longer than ${MAX_KEY_TEXT} characters`);
    addEntries(keys, text, `--model-key-env ${from.keyEnv}`);
    sources.push(`$${from.keyEnv}`);
    // Worker threads and anything spawned later inherit the environment; they need no keys.
    delete env[from.keyEnv];
  }
  if (sources.length === 0) return { ring: undefined, warnings };
  if (keys.size === 0) throw new Error(`the model keys (${sources.join(', ')}) hold no key`);
  const ids = Object.freeze([...keys.keys()].sort());
  const source = sources.join(' and ');
  return { ring: Object.freeze({ get: (id: string) => keys.get(id), ids, source }), warnings };
}

/** Parses `text` into `keys`; an id given twice is an error (two keys under one name). */
export function addEntries(keys: Map<string, Buffer>, text: string, where: string): void {
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/#.*$/, '');
    for (const entry of line.split(',')) {
      const e = entry.trim();
      if (e === '') continue;
      const at = `${where} line ${i + 1}`;
      const colon = e.indexOf(':');
      if (colon < 0) throw new Error(`${at}: an entry must be '<key id>:<key>'`);
      const id = e.slice(0, colon).trim();
      if (!KEY_ID.test(id)) throw new Error(`${at}: ${KEY_ID_RULE} (is a key where the id should be?)`);
      const key = decodeKey(e.slice(colon + 1).trim());
      if (!key) throw new Error(`${at}: key '${id}' must be 32 bytes as base64 (44 characters) or hex (64 characters)`);
      if (keys.has(id)) throw new Error(`${at}: key id '${id}' is given twice`);
      keys.set(id, key);
    }
  }
}

/** The key's 32 bytes in a buffer of its own (Buffer.from may place them in the shared pool). */
function decodeKey(s: string): Buffer | undefined {
  let decoded: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(s)) decoded = Buffer.from(s, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=$/.test(s)) decoded = Buffer.from(s, 'base64');
  if (decoded?.length !== 32) return undefined;
  const own = Buffer.alloc(32);
  decoded.copy(own);
  decoded.fill(0);
  return own;
}

function readKeyFile(file: string): { text: string; mode: number } {
  let fd: number;
  try {
    // Non-blocking, so a FIFO named here cannot hold start-up; it is then refused as not a file.
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new Error(`--model-key-file: cannot read ${basename(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`--model-key-file: ${basename(file)} is not a regular file`);
    const buf = Buffer.alloc(MAX_KEY_TEXT + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > MAX_KEY_TEXT) throw new Error(`--model-key-file: ${basename(file)} is larger than ${MAX_KEY_TEXT} bytes`);
    const text = buf.subarray(0, n).toString('utf8');
    buf.fill(0);
    return { text, mode: st.mode };
  } finally {
    closeSync(fd);
  }
}
