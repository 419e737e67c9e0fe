// Models encrypted at rest: the key ring's text format and the AES-256-GCM file format,
// with real files in a temporary folder.

import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decryptModelFile, encryptModel, MAGIC, parseHeader } from '../../../src/security/model-encryption.js';
import { loadModelKeys, type ModelKeyRing } from '../../../src/security/model-keys.js';

const dir = mkdtempSync(join(tmpdir(), 'triton-ts-enc-'));
const k1 = randomBytes(32);
const k2 = randomBytes(32);
let n = 0;
const file = (data: Uint8Array | string): string => {
  const p = join(dir, `f${n++}`);
  writeFileSync(p, data, { mode: 0o600 });
  return p;
};
const ring = (text: string): ModelKeyRing => loadModelKeys({ keyFile: file(text) }).ring!;
const keys = ring(`# two keys\nk1:${k1.toString('base64')}\nk2:${k2.toString('hex')}\n`);
const bytesOf = (sab: SharedArrayBuffer): Buffer => Buffer.from(new Uint8Array(sab));
const failure = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'no error',
    (e: Error) => e.message,
  );

test('a key file holds base64 and hex keys by id, comments and blank lines ignored', () => {
  assert.equal(keys.ids, ['k1', 'k2']);
  assert.ok(keys.get('k1')!.equals(k1));
  assert.ok(keys.get('k2')!.equals(k2));
  assert.is(keys.get('k3'), undefined);
  assert.is(keys.get('__proto__'), undefined);
});

test('the environment variable form takes comma-separated entries and is removed from the environment', () => {
  const env: NodeJS.ProcessEnv = { MODEL_KEYS: `a:${k1.toString('base64')}, b:${k2.toString('hex')}` };
  const r = loadModelKeys({ keyEnv: 'MODEL_KEYS' }, env).ring!;
  assert.equal(r.ids, ['a', 'b']);
  assert.is(r.source, '$MODEL_KEYS');
  assert.not.ok('MODEL_KEYS' in env, 'worker threads and children do not inherit it');
});

test('bad entries are refused by line and key id, never echoing a key', () => {
  const secret = k1.toString('base64').slice(0, 40);
  const cases: Array<[string, RegExp]> = [
    [`k1 ${k1.toString('base64')}`, /line 1: an entry must be '<key id>:<key>'/],
    [`\nk1:${secret}`, /line 2: key 'k1' must be 32 bytes/],
    [`bad/id:${k1.toString('base64')}`, /a key id is 1 to 32/],
    [`k1:${k1.toString('base64')}\nk1:${k2.toString('base64')}`, /key id 'k1' is given twice/],
    [`k1:${randomBytes(16).toString('base64')}`, /must be 32 bytes/],
    ['# nothing\n', /hold no key/],
  ];
  for (const [text, why] of cases) {
    let msg = '';
    try {
      loadModelKeys({ keyFile: file(text) });
    } catch (err) {
      msg = (err as Error).message;
    }
    assert.match(msg, why, text);
    assert.not.ok(msg.includes(secret), 'no key in the message');
  }
  assert.throws(() => loadModelKeys({ keyFile: join(dir, 'missing') }), /cannot read missing \(ENOENT\)/);
  assert.throws(() => loadModelKeys({ keyFile: dir }), /not a regular file/);
  assert.throws(() => loadModelKeys({ keyEnv: 'UNSET_VAR' }, {}), /the environment variable it names is not set or empty/);
  assert.is(loadModelKeys({}).ring, undefined, 'no sources, no ring');
});

test('a key file others can read is warned about', () => {
  const p = file(`k1:${k1.toString('base64')}`);
  chmodSync(p, 0o644);
  const { warnings } = loadModelKeys({ keyFile: p });
  assert.is(warnings.length, 1);
  assert.match(warnings[0]!, /can be read by other users \(mode 644\); chmod 600/);
});

test('encrypt then decrypt gives back the model, across many read chunks', async () => {
  const model = randomBytes(3 * (1 << 20) + 17);
  const enc = encryptModel(model, 'k1', k1);
  assert.ok(enc.subarray(0, 8).equals(MAGIC));
  assert.is(enc.length, model.length + 8 + 1 + 2 + 12 + 16);
  assert.not.ok(enc.includes(model.subarray(0, 64)), 'no plaintext in the file');
  assert.ok(bytesOf(await decryptModelFile(file(enc), '1/model.onnx.enc', keys)).equals(model));
  const empty = encryptModel(Buffer.alloc(0), 'k2', k2);
  assert.is((await decryptModelFile(file(empty), 'e', keys)).byteLength, 0);
});

test('two encryptions of one model differ (a fresh IV each time)', () => {
  const m = randomBytes(100);
  assert.not.ok(encryptModel(m, 'k1', k1).equals(encryptModel(m, 'k1', k1)));
});

test('a flipped byte anywhere, header included, is refused; so is a cut file', async () => {
  const model = randomBytes(200);
  const enc = encryptModel(model, 'k1', k1);
  for (let i = 0; i < enc.length; i++) {
    const bad = Buffer.from(enc);
    bad[i]! ^= 0x01;
    const msg = await failure(decryptModelFile(file(bad), '1/model.onnx.enc', keys));
    assert.ok(msg !== 'no error', `byte ${i} flipped was accepted`);
    assert.match(msg, /^1\/model\.onnx\.enc/, msg);
  }
  for (const len of [0, 5, 8, 9, 20, 23, enc.length - 16, enc.length - 1]) {
    const msg = await failure(decryptModelFile(file(enc.subarray(0, len)), 'm', keys));
    assert.match(msg, /not an encrypted model|damaged or cut short|cut short|did not decrypt/, `${len}: ${msg}`);
  }
});

test('the reasons: altered or other key, unknown key id, no keys at all, not encrypted', async () => {
  const enc = encryptModel(randomBytes(64), 'k1', k1);
  const otherKeyUnderK1 = ring(`k1:${k2.toString('base64')}`);
  assert.match(
    await failure(decryptModelFile(file(enc), '1/model.onnx.enc', otherKeyUnderK1)),
    /1\/model\.onnx\.enc did not decrypt with key 'k1': the file was altered, or it was encrypted with another key under that id/,
  );
  const k9 = encryptModel(randomBytes(64), 'k9', k1);
  assert.match(await failure(decryptModelFile(file(k9), 'x', keys)), /encrypted with key 'k9', which is not among the server's model keys$/);
  assert.match(await failure(decryptModelFile(file(enc), 'x', undefined)), /given no model keys \(--model-key-file or --model-key-env\)/);
  const onnx = readFileSync(new URL('../../../model-repo/simple/1/model.onnx', import.meta.url));
  assert.match(await failure(decryptModelFile(file(onnx), 'x', keys)), /is not an encrypted model/);
});

test('the header names its key id; a malformed one is refused', () => {
  const enc = encryptModel(randomBytes(10), 'prod-2026.a', k1);
  assert.is(parseHeader(enc, 'x').keyId, 'prod-2026.a');
  const bad = Buffer.from(enc);
  bad[9] = 0x2f; // '/'
  assert.throws(() => parseHeader(bad, 'x'), /malformed key id/);
  assert.throws(() => encryptModel(randomBytes(1), 'a b', k1), /key id/);
  assert.throws(() => encryptModel(randomBytes(1), 'a', randomBytes(16)), /32 bytes/);
});

test('a key pasted where an id or a variable name belongs is refused without being echoed', () => {
  const hex = k1.toString('hex');
  const b64 = k1.toString('base64');
  const messages: string[] = [];
  const refusal = (f: () => unknown): void => {
    try {
      f();
      messages.push('accepted');
    } catch (err) {
      messages.push((err as Error).message);
    }
  };
  refusal(() => loadModelKeys({ keyFile: file(`${hex}:prod-1`) }));
  refusal(() => loadModelKeys({ keyFile: file(`${hex}:${k2.toString('hex')}`) }));
  refusal(() => loadModelKeys({ keyEnv: `k1:${b64}` }, {}));
  refusal(() => loadModelKeys({ keyEnv: `a${hex}` }, {}));
  for (const m of messages) {
    assert.not.ok(m === 'accepted', 'refused');
    assert.not.ok(m.includes(hex.slice(0, 16)) || m.includes(b64.slice(0, 16)), m);
  }
  assert.match(messages[0]!, /is a key where the id should be/);
  assert.match(messages[2]!, /takes the name of an environment variable/);
});

test('a file larger than the limit is refused before anything is allocated for it', async () => {
  const enc = encryptModel(randomBytes(5000), 'k1', k1);
  assert.match(
    await failure(decryptModelFile(file(enc), '1/model.onnx.enc', keys, 4096)),
    /1\/model\.onnx\.enc is \d+ bytes; an encrypted model may be at most 4096 bytes/,
  );
  assert.is((await decryptModelFile(file(enc), 'x', keys, 5000)).byteLength, 5000, 'at the limit is fine');
});

test('a directory or a FIFO under the model name is refused without a server path and without hanging', async () => {
  const d = join(dir, 'as-dir.enc');
  mkdirSync(d);
  const fifo = join(dir, 'as-fifo.enc');
  execFileSync('mkfifo', [fifo]);
  for (const p of [d, fifo]) {
    const msg = await failure(decryptModelFile(p, '1/model.onnx.enc', keys));
    assert.match(msg, /^1\/model\.onnx\.enc is not a regular file$/, msg);
  }
  const missing = await failure(decryptModelFile(join(dir, 'nope'), '1/model.onnx.enc', keys));
  assert.is(missing, '1/model.onnx.enc cannot be opened (ENOENT)');
  assert.not.match(missing, new RegExp(dir));
});

test.run();
