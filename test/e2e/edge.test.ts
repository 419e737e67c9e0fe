// The attacks that opened issue #11, played against the real server in explicit mode:
// each asserts the refusal and that the server still serves `simple` correctly after.

import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest, ModelStreamInferResponse, type ModelInferRequest as Req } from '../../src/generated/inference/grpc_service.js';
import { identityModel } from '../../scripts/onnx-builder.js';
import { call, callError, connect, healthClient, int32Buffer, readInt32, type InferenceClient } from '../helpers/client.js';
import { encode, rawInferClient } from '../helpers/fuzz-requests.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';

const test = suite('the edge under attack');
let server: TestServer;
let client: InferenceClient;
let repo: TempRepo;

test.before(async () => {
  repo = new TempRepo()
    .copyBundled('simple')
    .write('broken/1/model.onnx', Buffer.from('not onnx'))
    .write(
      'badwarmup/config.pbtxt',
      [
        'name: "badwarmup" max_batch_size: 4',
        'input { name: "INPUT0" data_type: TYPE_FP32 dims: [ 2 ] } output { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 2 ] }',
        'model_warmup { name: "w" batch_size: 1 inputs { key: "INPUT0" value { data_type: TYPE_FP32 dims: [ 2 ] input_data_file: "../../../etc/hostname" } } }',
      ].join('\n'),
    )
    .write('badwarmup/1/model.onnx', identityModel('badwarmup', 'FP32', ['b', 2]));
  server = await startServer([`--model-repository=${repo.root}`, '--model-control-mode=explicit', '--load-model=simple']);
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  assert.is(await server?.stop(), 0);
  repo?.dispose();
});

const simple = (patch: (r: Req) => void = () => undefined): Req => {
  const r = ModelInferRequest.fromPartial({
    modelName: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
    ],
    rawInputContents: [int32Buffer(Array(16).fill(5)), int32Buffer(Array(16).fill(2))],
  });
  patch(r);
  return r;
};

async function stillServing(): Promise<void> {
  const res = await call(client, client.modelInfer, simple());
  assert.equal(readInt32(res.rawOutputContents[0]!), Array(16).fill(7));
  assert.ok((await call(client, client.serverReady, {})).ready, 'the server is still ready');
}

function health(service: string): Promise<string> {
  const h = healthClient(server.address);
  return new Promise<string>((resolve) =>
    h['check']!({ service }, (err: grpc.ServiceError | null, res: { status: string }) => resolve(err ? `code ${err.code}` : res.status)),
  ).finally(() => h.close());
}

const loadFolders = () => readdirSync(tmpdir()).filter((n) => n.startsWith('triton-ts-load-')).length;
const stringParam = (value: string) => ({ parameterChoice: { $case: 'stringParam' as const, value } });
const bytesParam = (value: Buffer) => ({ parameterChoice: { $case: 'bytesParam' as const, value } });

test('a shape dimension of INT64_MAX is INVALID_ARGUMENT naming the input and the range, not INTERNAL', async () => {
  const err = await callError(
    client,
    client.modelInfer,
    simple((r) => (r.inputs[0]!.shape = [1n, 9223372036854775807n])),
  );
  assert.is(err.code, status.INVALID_ARGUMENT, err.details);
  assert.match(err.details, /input 'INPUT0' of model 'simple'.*dimension 9223372036854775807, outside 0\.\.2147483647/);
  await stillServing();
});

test('on ModelStreamInfer a message that cannot be decoded is answered in-band with its id, and the stream answers the next one', async () => {
  const raw = rawInferClient(server.address);
  const stream = raw.modelStreamInfer();
  const responses: ModelStreamInferResponse[] = [];
  const two = new Promise<void>((resolve) => stream.on('data', (b: Buffer) => responses.push(ModelStreamInferResponse.decode(b)) === 2 && resolve()));
  const ended = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
  stream.write(Buffer.concat([encode(simple((r) => (r.id = 'bad-1'))), Buffer.from([0x3a, 0xff, 0xff, 0x03])]));
  stream.write(encode(simple((r) => (r.id = 'good-2'))));
  await two;
  stream.end();
  assert.match(responses[0]!.errorMessage, /not a valid ModelInferRequest message/);
  assert.is(responses[0]!.inferResponse!.id, 'bad-1');
  assert.is(responses[1]!.errorMessage, '');
  assert.is(responses[1]!.inferResponse!.id, 'good-2');
  assert.equal(readInt32(responses[1]!.inferResponse!.rawOutputContents[0]!), Array(16).fill(7));
  assert.is((await ended).code, status.OK);
  raw.close();
});

test("parameters with Triton's reserved prefix or the wrong value type are INVALID_ARGUMENT naming them", async () => {
  let err = await callError(
    client,
    client.modelInfer,
    simple((r) => (r.parameters = { triton_foo: stringParam('x') })),
  );
  assert.is(err.code, status.INVALID_ARGUMENT);
  assert.match(err.details, /keys starting with 'triton_' are reserved/);
  err = await callError(
    client,
    client.modelInfer,
    simple((r) => (r.parameters = { timeout: stringParam('10') })),
  );
  assert.is(err.code, status.INVALID_ARGUMENT);
  assert.match(err.details, /parameter 'timeout' must be int64_param, got string_param/);
  await stillServing();
});

test('RepositoryModelLoad of a name that leaves the repository writes nothing anywhere and loads nothing', async () => {
  const before = loadFolders();
  for (const name of ['../outside/evil', 'a/b', '..', 'evil\nline']) {
    const err = await callError(client, client.repositoryModelLoad, {
      repositoryName: '',
      modelName: name,
      parameters: {
        config: stringParam(JSON.stringify({ name, max_batch_size: 0 })),
        'file:1/model.onnx': bytesParam(Buffer.from(identityModel('evil', 'FP32', [2]))),
      },
    });
    assert.is(err.code, status.INVALID_ARGUMENT, `${JSON.stringify(name)}: ${err.details}`);
    assert.match(err.details, /is not valid: a model name is 1 to 255 characters/);
    assert.not.match(err.details, /\n/, 'the message quotes the name with its control characters escaped');
  }
  for (const base of [repo.root, tmpdir(), join(tmpdir(), 'x')]) {
    assert.not.ok(existsSync(join(base, '..', 'outside', 'evil', '1', 'model.onnx')), `nothing written beside ${base}`);
  }
  assert.is(loadFolders(), before, 'no staging folder left behind');
  const { models } = await call(client, client.repositoryIndex, { repositoryName: '', ready: false });
  assert.equal(models.map((m) => m.name).sort(), ['badwarmup', 'broken', 'simple']);
  await stillServing();
});

test('loading "" is INVALID_ARGUMENT and the server stays ready and SERVING', async () => {
  const err = await callError(client, client.repositoryModelLoad, { repositoryName: '', modelName: '', parameters: {} });
  assert.is(err.code, status.INVALID_ARGUMENT);
  assert.is(await health(''), 'SERVING');
  await stillServing();
});

test('a failed load of a broken model leaves the server ready; a name not in the repository leaves no entry', async () => {
  const err = await callError(client, client.repositoryModelLoad, { repositoryName: '', modelName: 'broken', parameters: {} });
  assert.is(err.code, status.UNAVAILABLE);
  assert.not.ok(err.details.includes(repo.root), `no server path in: ${err.details}`);
  assert.is(await health(''), 'SERVING');
  assert.is(await health('broken'), 'NOT_SERVING');
  const missing = await callError(client, client.repositoryModelLoad, { repositoryName: '', modelName: 'nowhere', parameters: {} });
  assert.is(missing.code, status.NOT_FOUND);
  assert.is(await health('nowhere'), `code ${status.NOT_FOUND}`);
  const { models } = await call(client, client.repositoryIndex, { repositoryName: '', ready: false });
  assert.not.ok(models.some((m) => m.name === 'nowhere'));
  for (const m of models) assert.not.ok(m.reason.includes(repo.root), `no server path in the reason of ${m.name}: ${m.reason}`);
  await stillServing();
});

test('a load whose config names another model, or whose file climbs out, is refused before anything is written', async () => {
  const before = loadFolders();
  let err = await callError(client, client.repositoryModelLoad, {
    repositoryName: '',
    modelName: 'simple',
    parameters: { config: stringParam('{"name":"other"}') },
  });
  assert.is(err.code, status.INVALID_ARGUMENT);
  assert.match(err.details, /names model 'other' but the request loads 'simple'/);
  err = await callError(client, client.repositoryModelLoad, {
    repositoryName: '',
    modelName: 'fresh',
    parameters: { config: stringParam('{"name":"fresh"}'), 'file:1/../../x': bytesParam(Buffer.from('x')) },
  });
  assert.is(err.code, status.INVALID_ARGUMENT);
  assert.match(err.details, /without '\.', '\.\.' or empty segments/);
  assert.is(loadFolders(), before);
  await stillServing();
});

test('a default_model_filename that is missing fails without the server path in the details', async () => {
  const err = await callError(client, client.repositoryModelLoad, {
    repositoryName: '',
    modelName: 'broken',
    parameters: { config: stringParam('{"name":"broken","default_model_filename":"nothere.onnx"}') },
  });
  assert.is(err.code, status.UNAVAILABLE);
  assert.match(err.details, /neither 1\/nothere\.onnx nor 1\/nothere\.onnx\.enc exists/);
  assert.not.ok(err.details.includes(repo.root), err.details);
  const escaped = await callError(client, client.repositoryModelLoad, {
    repositoryName: '',
    modelName: 'broken',
    parameters: { config: stringParam('{"name":"broken","default_model_filename":"../../simple/1/model.onnx"}') },
  });
  assert.match(escaped.details, /default_model_filename .* must be a relative path inside the model folder/);
  await stillServing();
});

test('health has no entry for names it does not know, however long', async () => {
  assert.is(await health('no_such_model'), `code ${status.NOT_FOUND}`);
  assert.is(await health('x'.repeat(300)), `code ${status.NOT_FOUND}`);
  assert.is(await health('simple'), 'SERVING');
  await stillServing();
});

test('a warmup input_data_file that climbs out of the model folder fails the load, naming the field', async () => {
  const err = await callError(client, client.repositoryModelLoad, { repositoryName: '', modelName: 'badwarmup', parameters: {} });
  assert.is(err.code, status.UNAVAILABLE);
  assert.match(err.details, /input_data_file/);
  assert.is(await health(''), 'SERVING');
  await stillServing();
});

test('a RepositoryModelLoad parameter named __proto__ is refused, not silently dropped', async () => {
  const raw = new grpc.Client(server.address, grpc.credentials.createInsecure());
  // parameters map entry: key "__proto__", value ModelRepositoryParameter { string_param: "x" }.
  const entry = Buffer.concat([Buffer.from([0x0a, 9]), Buffer.from('__proto__'), Buffer.from([0x12, 3, 0x1a, 1, 0x78])]);
  const msg = Buffer.concat([Buffer.from([0x12, 6]), Buffer.from('simple'), Buffer.from([0x1a, entry.length]), entry]);
  const err = await new Promise<grpc.ServiceError>((resolve) =>
    raw.makeUnaryRequest(
      '/inference.GRPCInferenceService/RepositoryModelLoad',
      (b: Buffer) => b,
      (b: Buffer) => b,
      msg,
      (e) => resolve(e!),
    ),
  );
  raw.close();
  assert.is(err.code, status.INVALID_ARGUMENT, err.details);
  assert.match(err.details, /'__proto__'/);
  await stillServing();
});

test.run();
