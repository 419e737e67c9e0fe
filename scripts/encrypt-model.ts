// npm run -s encrypt-model -- --make-key <key id>
//   Prints a new key entry, '<key id>:<base64 key>', for a --model-key-file (append it:
//   `npm run -s encrypt-model -- --make-key prod-1 >> model-keys.txt`, then chmod 600).
// npm run encrypt-model -- (--key-file FILE | --key-env NAME) --key-id ID <model.onnx> <model.onnx.enc>
//   Encrypts a model file (AES-256-GCM, src/security/model-encryption.ts) under that key.
//   The output must not exist yet. The plaintext input is left as it is: remove it before
//   the server next loads that version (a version holding both files is refused).
//   Models up to 2 GiB, the most ONNX Runtime reads from memory.

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { encryptModel, MAGIC, MAX_ENCRYPTED_MODEL_BYTES } from '../src/security/model-encryption.js';
import { KEY_ID, KEY_ID_RULE, loadModelKeys } from '../src/security/model-keys.js';

function fail(msg: string): never {
  process.stderr.write(`encrypt-model: ${msg}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    allowPositionals: true,
    options: {
      'make-key': { type: 'string' },
      'key-file': { type: 'string' },
      'key-env': { type: 'string' },
      'key-id': { type: 'string' },
    },
  });
} catch (err) {
  fail((err as Error).message);
}
const v = args.values;

if (v['make-key'] !== undefined) {
  if (!KEY_ID.test(v['make-key'])) fail(KEY_ID_RULE);
  process.stdout.write(`${v['make-key']}:${randomBytes(32).toString('base64')}\n`);
  process.exit(0);
}

const [input, output] = args.positionals;
if (!input || !output || args.positionals.length !== 2) fail('name the model file and the encrypted file to write');
if (resolve(input) === resolve(output)) fail('the encrypted file must be a new file, not the model itself');
if (!v['key-id']) fail('--key-id names the key to encrypt with');
let ring;
try {
  ring = loadModelKeys({ keyFile: v['key-file'], keyEnv: v['key-env'] }).ring;
} catch (err) {
  fail((err as Error).message);
}
if (!ring) fail('give the keys with --key-file FILE or --key-env NAME');
const key = ring.get(v['key-id']);
if (!key) fail(`key '${v['key-id']}' is not in ${ring.source} (it has ${ring.ids.join(', ')})`);

let plain: Buffer;
try {
  plain = readFileSync(input);
} catch (err) {
  fail(`cannot read ${input} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
}
if (plain.length > MAX_ENCRYPTED_MODEL_BYTES) fail(`${input} is larger than ${MAX_ENCRYPTED_MODEL_BYTES} bytes, the most the server decrypts`);
if (plain.subarray(0, MAGIC.length).equals(MAGIC)) fail(`${input} is already encrypted`);
const sealed = encryptModel(plain, v['key-id'], key);
let created = false;
try {
  const fd = openSync(output, 'wx', 0o644);
  created = true;
  try {
    for (let off = 0; off < sealed.length; ) off += writeSync(fd, sealed, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  // A half-written file must not be mistaken for a model later.
  if (created) rmSync(output, { force: true });
  fail(code === 'EEXIST' ? `${output} exists already; the output must be a new file` : `cannot write ${output} (${code})`);
}
plain.fill(0);
process.stderr.write(`encrypt-model: wrote ${output} (key '${v['key-id']}', ${plain.length} bytes of model)\n`);
