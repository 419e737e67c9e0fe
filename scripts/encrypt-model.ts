// npm run -s encrypt-model -- --make-key <key id>
//   Prints a new key entry, '<key id>:<base64 key>', for a --model-key-file (append it:
//   `npm run -s encrypt-model -- --make-key prod-1 >> model-keys.txt`, then chmod 600).
// npm run encrypt-model -- (--key-file FILE | --key-env NAME) --key-id ID <model.onnx> <model.onnx.enc>
//   Encrypts a model file (AES-256-GCM, src/security/model-encryption.ts) under that key.
//   The output must not exist yet; the plaintext input is left as it is (remove it yourself
//   once the server serves the encrypted copy).

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { encryptModel, MAGIC } from '../src/security/model-encryption.js';
import { KEY_ID, loadModelKeys } from '../src/security/model-keys.js';

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
  if (!KEY_ID.test(v['make-key'])) fail('a key id is 1 to 64 of A-Z a-z 0-9 _ . -');
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

const plain = readFileSync(input);
if (plain.subarray(0, MAGIC.length).equals(MAGIC)) fail(`${input} is already encrypted`);
try {
  writeFileSync(output, encryptModel(plain, v['key-id'], key), { flag: 'wx' });
} catch (err) {
  fail(`cannot write ${output} (${(err as NodeJS.ErrnoException).code ?? 'error'}); it must not exist yet`);
}
plain.fill(0);
process.stderr.write(`encrypt-model: wrote ${output} (key '${v['key-id']}', ${plain.length} bytes of model)\n`);
