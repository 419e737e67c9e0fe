// Attacks from the final review pass, each a test of the safe behaviour: a policy reload
// that revokes a key reaches the streams already open with it; --max-request-bytes-elements
// counts raw BYTES (gRPC raw_input_contents, HTTP binary data) as it counts typed ones; the
// JSON answer bound counts UTF-8 bytes, not UTF-16 units.

import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest, ModelStreamInferResponse } from '../../src/generated/inference/grpc_service.js';
import { hashApiKey, newApiKey } from '../../src/security/api-key.js';
import { call, connect, simpleRequest, type InferenceClient } from '../helpers/client.js';
import { startServer, startServerProcess, type ServerProcess, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';

const MiB = 1024 * 1024;

const reload = suite('a policy reload reaches streams already open');
const dir = mkdtempSync(join(tmpdir(), 'attacks-final-'));
const policyFile = join(dir, 'policy.yaml');
const key = newApiKey();
let policyServer: ServerProcess;
let policyRepo: TempRepo;
let grpcClient: grpc.Client;

const policyWith = (principals: string): string => ['version: 1', 'anonymous:', '  - categories: [health]', '    models: ["*"]', principals, ''].join('\n');
const STREAMER = [
  'principals:',
  '  - name: streamer',
  `    api_key_sha256: "${hashApiKey(key)}"`,
  '    grants:',
  '      - categories: [inference]',
  '        models: [simple]',
].join('\n');

reload.before(async () => {
  writeFileSync(policyFile, policyWith(STREAMER));
  policyRepo = new TempRepo().copyBundled('simple');
  policyServer = await startServerProcess([`--model-repository=${policyRepo.root}`, `--access-policy=${policyFile}`, '--allow-metrics=false']);
  grpcClient = new grpc.Client(policyServer.address, grpc.credentials.createInsecure());
});

reload.after(async () => {
  grpcClient?.close();
  await policyServer?.stop('SIGKILL');
  policyRepo?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const withKey = (): grpc.Metadata => {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${key}`);
  return md;
};

/** A ModelStreamInfer stream; send() writes one request and resolves with its answer, or with the error that ended the stream. */
function openStream(c: grpc.Client, md: grpc.Metadata) {
  const stream = c.makeBidiStreamRequest(
    '/inference.GRPCInferenceService/ModelStreamInfer',
    (m: ModelInferRequest) => Buffer.from(ModelInferRequest.encode(m).finish()),
    (b: Buffer) => ModelStreamInferResponse.decode(b),
    md,
    {},
  );
  const waiting: Array<(r: ModelStreamInferResponse | grpc.ServiceError) => void> = [];
  let failed: grpc.ServiceError | undefined;
  stream.on('data', (m: ModelStreamInferResponse) => waiting.shift()?.(m));
  stream.on('error', (e: grpc.ServiceError) => {
    failed = e;
    for (const w of waiting.splice(0)) w(e);
  });
  return {
    send: (id: string): Promise<ModelStreamInferResponse | grpc.ServiceError> =>
      failed
        ? Promise.resolve(failed)
        : new Promise((resolve) => {
            waiting.push(resolve);
            stream.write(simpleRequest(id));
          }),
    close: () => stream.cancel(),
  };
}

function unaryInfer(c: grpc.Client, md: grpc.Metadata): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    c.makeUnaryRequest(
      '/inference.GRPCInferenceService/ModelInfer',
      (m: ModelInferRequest) => Buffer.from(ModelInferRequest.encode(m).finish()),
      (b: Buffer) => b,
      simpleRequest('unary'),
      md,
      { deadline: Date.now() + 10_000 },
      (err) => resolve(err),
    );
  });
}

reload('a policy reload that revokes a key (or takes a grant away) applies to the next message of a stream already open with it', async () => {
  const stream = openStream(grpcClient, withKey());
  try {
    const r1 = await stream.send('r1');
    assert.ok(
      !(r1 instanceof Error) && r1.errorMessage === '',
      `before the reload the stream is served: ${r1 instanceof Error ? r1.message : r1.errorMessage}`,
    );

    const since = policyServer.lines.length;
    writeFileSync(`${policyFile}.tmp`, policyWith('principals: []'));
    renameSync(`${policyFile}.tmp`, policyFile);
    await policyServer.waitForLine(/access policy reloaded \(file change\): 0 principals/, 15_000, since);
    const fresh = await unaryInfer(grpcClient, withKey());
    assert.is(fresh?.code, status.UNAUTHENTICATED, 'a new call with the revoked key is refused: the reload took effect');

    const r2 = await stream.send('r2');
    const refused =
      r2 instanceof Error ? [status.UNAUTHENTICATED, status.PERMISSION_DENIED].includes(r2.code) : /not known|credentials|permission/.test(r2.errorMessage);
    assert.ok(
      refused,
      `after the key was revoked, the open stream still infers: ${r2 instanceof Error ? r2.message : `errorMessage '${r2.errorMessage}', id ${r2.inferResponse?.id}`}`,
    );
  } finally {
    stream.close();
  }
});

reload.run();

const bounds = suite('bounds that count what they say: raw BYTES elements, JSON answer bytes');
let server: TestServer;
let repo: TempRepo;
let client: InferenceClient;
let base = '';
const MAX_BYTES_ELEMENTS = 1000;
const MAX_JSON_ANSWER = 1 * MiB;

bounds.before(async () => {
  repo = new TempRepo().copyBundled('identity_bytes');
  server = await startServer([
    `--model-repository=${repo.root}`,
    `--max-request-bytes-elements=${MAX_BYTES_ELEMENTS}`,
    `--http-max-json-answer-size=${MAX_JSON_ANSWER}`,
    '--allow-metrics=false',
  ]);
  client = connect(server.address);
  base = `http://127.0.0.1:${server.httpPort}`;
});

bounds.after(async () => {
  client?.close();
  await server?.stop();
  repo?.dispose();
});

/** `n` BYTES elements of zero length: 4n bytes of zeros (a gzip body makes them ~n/250 bytes). */
const emptyElements = (n: number): Buffer => Buffer.alloc(4 * n);

bounds('--max-request-bytes-elements bounds BYTES elements in raw_input_contents (gRPC), as it does typed ones', async () => {
  const n = 5 * MAX_BYTES_ELEMENTS;
  const req = ModelInferRequest.fromPartial({
    modelName: 'identity_bytes',
    inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1n, BigInt(n)] }],
    rawInputContents: [emptyElements(n)],
  });
  const err = await call(client, client.modelInfer, req).then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  assert.ok(err, `served: ${n} BYTES elements in raw_input_contents passed --max-request-bytes-elements=${MAX_BYTES_ELEMENTS}`);
  assert.is(err!.code, status.RESOURCE_EXHAUSTED, err!.details);
  assert.match(err!.details, /--max-request-bytes-elements/);
});

bounds('--max-request-bytes-elements bounds BYTES elements sent as HTTP binary data, as it does JSON ones', async () => {
  const n = 5 * MAX_BYTES_ELEMENTS;
  const data = emptyElements(n);
  const head = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [1, n], datatype: 'BYTES', parameters: { binary_data_size: data.length } }],
      parameters: { binary_data_output: true },
    }),
  );
  const res = await fetch(`${base}/v2/models/identity_bytes/infer`, {
    method: 'POST',
    body: Buffer.concat([head, data]),
    headers: { 'inference-header-content-length': String(head.length) },
  });
  const text = Buffer.from(await res.arrayBuffer())
    .subarray(0, 300)
    .toString('latin1');
  assert.ok(res.status === 413 || res.status === 429, `status ${res.status} for ${n} BYTES elements (limit ${MAX_BYTES_ELEMENTS}): ${text}`);
  assert.match(text, /--max-request-bytes-elements/);
});

bounds('--http-max-json-answer-size bounds the JSON answer in bytes: a BYTES output of 3-byte UTF-8 characters is counted as what it encodes to', async () => {
  const element = Buffer.from('€'.repeat(1_000_000), 'utf8');
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(element.length);
  const head = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [1, 1], datatype: 'BYTES', parameters: { binary_data_size: element.length + 4 } }],
      outputs: [{ name: 'OUTPUT0' }],
    }),
  );
  const res = await fetch(`${base}/v2/models/identity_bytes/infer`, {
    method: 'POST',
    body: Buffer.concat([head, prefix, element]),
    headers: { 'inference-header-content-length': String(head.length), 'accept-encoding': 'identity' },
  });
  const answer = Buffer.from(await res.arrayBuffer());
  const refused = res.status === 400 || res.status === 413;
  assert.ok(
    refused || answer.length <= MAX_JSON_ANSWER,
    `status ${res.status}: ${answer.length} bytes of JSON answer; --http-max-json-answer-size=${MAX_JSON_ANSWER}`,
  );
  if (refused) assert.match(answer.toString('utf8'), /binary_data/);
});

bounds.run();
