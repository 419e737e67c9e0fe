// Models encrypted at rest, end to end: a real server given a key file serves a model
// stored only as model.onnx.enc; a wrong key, a tampered file, an unknown key id, a file
// that is not encrypted and a version with both forms each leave that model UNAVAILABLE
// with its reason while the others serve; RepositoryModelLoad uploads may be encrypted.

import { status } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { encryptModel } from '../../src/security/model-encryption.js';
import { call, callError, connect, int32Buffer, readInt32, testFault, type InferenceClient } from '../helpers/client.js';
import { repoRoot, startServer, startServerProcess, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';
import { simpleConfigJson } from '../helpers/simple-config.js';

const test = suite('models encrypted at rest');
const key = randomBytes(32);
const onnx = readFileSync(join(repoRoot, 'model-repo', 'simple', '1', 'model.onnx'));
let repo: TempRepo;
let server: TestServer;
let client: InferenceClient;

/** A copy of the bundled "simple" under another name, its model file as given. */
function simpleAs(name: string, files: Record<string, Uint8Array>, extraConfig = ''): void {
  repo.copyBundled('simple', name).remove(`${name}/1/model.onnx`);
  for (const [rel, data] of Object.entries(files)) repo.write(`${name}/${rel}`, data);
  if (extraConfig) writeFileSync(join(repo.root, name, 'config.pbtxt'), readFileSync(join(repo.root, name, 'config.pbtxt'), 'utf8') + extraConfig);
}

test.before(async () => {
  repo = new TempRepo().copyBundled('simple');
  simpleAs('enc_ok', { '1/model.onnx.enc': encryptModel(onnx, 'k1', key) });
  simpleAs('enc_wrong_key', { '1/model.onnx.enc': encryptModel(onnx, 'k1', randomBytes(32)) });
  const tampered = encryptModel(onnx, 'k1', key);
  tampered[tampered.length - 40]! ^= 0x80;
  simpleAs('enc_tampered', { '1/model.onnx.enc': tampered });
  simpleAs('enc_unknown_id', { '1/model.onnx.enc': encryptModel(onnx, 'k9', key) });
  simpleAs('enc_both', { '1/model.onnx': onnx, '1/model.onnx.enc': encryptModel(onnx, 'k1', key) });
  simpleAs('enc_named', { '1/sealed.onnx.enc': encryptModel(onnx, 'k1', key) }, 'default_model_filename: "sealed.onnx.enc"\n');
  simpleAs('enc_not_really', { '1/model.onnx.enc': onnx });
  repo.write('model-keys.txt', `k1:${key.toString('base64')}\n`);
  server = await startServer(
    [
      `--model-repository=${repo.root}`,
      `--model-key-file=${join(repo.root, 'model-keys.txt')}`,
      '--strict-readiness=false',
      '--model-control-mode=explicit',
      '--load-model=*',
    ],
    60_000,
    { TRITON_TS_TEST_FAULTS: '1' },
  );
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  await server?.stop();
  repo?.dispose();
});

const inferOn = (model: string, fault?: string) =>
  ModelInferRequest.fromPartial({
    modelName: model,
    ...(fault ? { parameters: testFault(fault) } : {}),
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
    ],
    rawInputContents: [int32Buffer(Array(16).fill(7)), int32Buffer(Array(16).fill(2))],
  });

async function reasons(): Promise<Map<string, string>> {
  const { models } = await call(client, client.repositoryIndex, { repositoryName: '', ready: false });
  return new Map(models.map((m) => [m.name, `${m.state}${m.reason ? `: ${m.reason}` : ''}`]));
}

test('a model stored only encrypted is decrypted in memory and serves', async () => {
  const res = await call(client, client.modelInfer, inferOn('enc_ok'));
  assert.equal(readInt32(res.rawOutputContents[0]!), Array(16).fill(9));
  assert.equal(readInt32(res.rawOutputContents[1]!), Array(16).fill(5));
  await server.waitForLine(/model 'enc_ok' version 1: 1\/model\.onnx\.enc decrypted in memory/);
  assert.equal(readdirSync(join(repo.root, 'enc_ok', '1')), ['model.onnx.enc'], 'no plaintext was written next to it');
  const named = await call(client, client.modelInfer, inferOn('enc_named'));
  assert.equal(readInt32(named.rawOutputContents[0]!), Array(16).fill(9), 'default_model_filename may name the .enc file');
});

test('a replica thread that dies is replaced and loads the model again from the decrypted bytes', async () => {
  const killed = await callError(client, client.modelInfer, inferOn('enc_ok', 'exit'));
  assert.match(killed.details, /worker thread died while running this batch/);
  const res = await call(client, client.modelInfer, inferOn('enc_ok'));
  assert.equal(readInt32(res.rawOutputContents[0]!), Array(16).fill(9), 'the new thread serves without reading the file');
});

test('the server logs which key ids it holds, never a key', async () => {
  await server.waitForLine(/model keys from model-keys\.txt: k1/);
  const all = server.lines.join('\n');
  assert.not.ok(all.includes(key.toString('base64')) || all.includes(key.toString('hex')));
});

test('wrong key, tampered file, unknown key id, not encrypted, both forms: each UNAVAILABLE with its reason', async () => {
  const r = await reasons();
  assert.match(
    r.get('enc_wrong_key')!,
    /^UNAVAILABLE: .*1\/model\.onnx\.enc did not decrypt with key 'k1': the file was altered, or it was encrypted with another key/,
  );
  assert.match(r.get('enc_tampered')!, /^UNAVAILABLE: .*1\/model\.onnx\.enc did not decrypt with key 'k1'/);
  assert.match(r.get('enc_unknown_id')!, /^UNAVAILABLE: .*encrypted with key 'k9', which is not among the server's model keys/);
  assert.match(r.get('enc_not_really')!, /^UNAVAILABLE: .*1\/model\.onnx\.enc is not an encrypted model/);
  assert.match(r.get('enc_both')!, /^UNAVAILABLE: .*both 1\/model\.onnx and 1\/model\.onnx\.enc exist; keep one/);
  for (const m of ['enc_wrong_key', 'enc_tampered', 'enc_unknown_id', 'enc_not_really', 'enc_both']) {
    const err = await callError(client, client.modelInfer, inferOn(m));
    assert.is(err.code, status.UNAVAILABLE, m);
  }
});

test('the other models serve', async () => {
  assert.is((await call(client, client.modelReady, { name: 'simple', version: '' })).ready, true);
  const res = await call(client, client.modelInfer, inferOn('simple'));
  assert.equal(readInt32(res.rawOutputContents[0]!), Array(16).fill(9));
});

function upload(name: string, bytes: Uint8Array, file = '1/model.onnx.enc') {
  return {
    repositoryName: '',
    modelName: name,
    parameters: {
      config: { parameterChoice: { $case: 'stringParam' as const, value: simpleConfigJson(name) } },
      [`file:${file}`]: { parameterChoice: { $case: 'bytesParam' as const, value: Buffer.from(bytes) } },
    },
  };
}

test('a RepositoryModelLoad upload may be encrypted; a tampered upload is refused with the reason', async () => {
  await call(client, client.repositoryModelLoad, upload('enc_uploaded', encryptModel(onnx, 'k1', key)));
  const res = await call(client, client.modelInfer, inferOn('enc_uploaded'));
  assert.equal(readInt32(res.rawOutputContents[1]!), Array(16).fill(5));
  const bad = encryptModel(onnx, 'k1', key);
  bad[30]! ^= 1;
  const err = await callError(client, client.repositoryModelLoad, upload('enc_uploaded_bad', bad));
  assert.match(err.details, /1\/model\.onnx\.enc did not decrypt with key 'k1'/);
  assert.is((await call(client, client.modelReady, { name: 'enc_uploaded', version: '' })).ready, true, 'the good upload still serves');
});

async function startFailure(args: string[], env: Record<string, string> = {}): Promise<string> {
  return startServerProcess([`--model-repository=${repo.root}`, '--model-control-mode=explicit', ...args], 30_000, env).then(
    async (s) => {
      await s.stop();
      return 'the server started';
    },
    (e: Error) => e.message,
  );
}

test('a key file that cannot be read, or a bad key in the environment, fails start-up with exit 2 and why', async () => {
  const missing = await startFailure(['--model-key-file=/nonexistent/keys.txt']);
  assert.match(missing, /server exited \(2\)/);
  assert.match(missing, /error: --model-key-file: cannot read keys\.txt \(ENOENT\)/);
  const secret = randomBytes(16).toString('base64');
  const short = await startFailure(['--model-key-env=TTS_TEST_KEYS'], { TTS_TEST_KEYS: `k1:${secret}` });
  assert.match(short, /error: --model-key-env TTS_TEST_KEYS line 1: key 'k1' must be 32 bytes/);
  assert.not.ok(short.includes(secret), 'the bad key is not echoed');
});

test('--require-encrypted-models: plaintext model files are refused at load and as uploads; encrypted ones serve', async () => {
  const strict = await startServerProcess([
    `--model-repository=${repo.root}`,
    `--model-key-file=${join(repo.root, 'model-keys.txt')}`,
    '--require-encrypted-models=true',
    '--model-control-mode=explicit',
    '--load-model=simple',
    '--load-model=enc_ok',
    '--strict-readiness=false',
  ]);
  const c = connect(strict.address);
  try {
    const { models } = await call(c, c.repositoryIndex, { repositoryName: '', ready: false });
    const simple = models.find((m) => m.name === 'simple')!;
    assert.is(simple.state, 'UNAVAILABLE');
    assert.match(simple.reason, /1\/model\.onnx is not encrypted, and this server serves only encrypted models \(--require-encrypted-models\)/);
    assert.equal(readInt32((await call(c, c.modelInfer, inferOn('enc_ok'))).rawOutputContents[0]!), Array(16).fill(9));
    const err = await callError(c, c.repositoryModelLoad, upload('plain_upload', onnx, '1/model.onnx'));
    assert.is(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /serves only encrypted models \(--require-encrypted-models\); upload file:1\/model\.onnx\.enc/);
  } finally {
    c.close();
    await strict.stop();
  }
});

test.run();
