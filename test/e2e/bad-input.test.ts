// Every kind of bad input gets the right status and a message naming the model, the
// input and what was expected, and the server keeps serving afterwards.

import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest, type ModelInferRequest as Req } from '../../src/generated/inference/grpc_service.js';
import { identityModel } from '../../scripts/onnx-builder.js';
import { call, callError, connect, float32Buffer, int32Buffer, readInt32, type InferenceClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';
import { BAD_REQUESTS, asGrpc, missingNames } from '../helpers/bad-requests.js';

const test = suite('bad input');
const MAX_MESSAGE = 1024 * 1024;
let server: TestServer;
let client: InferenceClient;
let repo: TempRepo;

test.before(async () => {
  repo = new TempRepo()
    .copyBundled('simple')
    .copyBundled('identity_fp32')
    .copyBundled('identity_bytes')
    .write('corrupt/1/model.onnx', Buffer.from('this is not an ONNX model'))
    .write('badconfig/config.pbtxt', 'name: "badconfig"\nmax_batch_size: 4\ninput { name: "INPUT0" colour: "red" }\n')
    .write('badconfig/1/model.onnx', identityModel('badconfig', 'FP32', ['b', 2]))
    .write(
      'mismatch/config.pbtxt',
      'max_batch_size: 4\ninput { name: "INPUT0" data_type: TYPE_INT32 dims: [ 2 ] }\noutput { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 2 ] }\n',
    )
    .write('mismatch/1/model.onnx', identityModel('mismatch', 'FP32', ['b', 2]))
    .write('badbatch/config.pbtxt', 'max_batch_size: 8\ndynamic_batching { preferred_batch_size: [ 4, 16 ] }\n')
    .write('badbatch/1/model.onnx', identityModel('badbatch', 'FP32', ['b', 2]));
  server = await startServer([`--model-repository=${repo.root}`, `--grpc-max-message-size=${MAX_MESSAGE}`]);
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  assert.is(await server?.stop(), 0);
  repo?.dispose();
});

const ones = (n: number) => Array.from({ length: n }, () => 1);

function simple(patch: (r: Req) => void = () => undefined): Req {
  const r = ModelInferRequest.fromPartial({
    modelName: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
    ],
    rawInputContents: [int32Buffer(ones(16)), int32Buffer(ones(16))],
  });
  patch(r);
  return r;
}

async function stillServing(): Promise<void> {
  const res = await call(client, client.modelInfer, simple());
  assert.equal(readInt32(res.rawOutputContents[0]!), Array(16).fill(2));
}

async function expectStatus(req: Req, code: number, names: string[]): Promise<void> {
  const err = await callError(client, client.modelInfer, req);
  assert.is(err.code, code, `${status[code]} expected, got ${status[err.code]}: ${err.details}`);
  for (const n of names) assert.ok(err.details.includes(n), `the message names ${n}: ${err.details}`);
  await stillServing();
}

test('every bad request of the shared table gets its status and names what is wrong, and the server goes on', async () => {
  for (const bad of BAD_REQUESTS) {
    const err = await callError(client, client.modelInfer, asGrpc(bad));
    assert.is(err.code, bad.grpcCode, `${bad.title}: ${status[bad.grpcCode]} expected, got ${status[err.code]}: ${err.details}`);
    assert.is(missingNames(bad, err.details), undefined);
  }
  await stillServing();
});

test('raw-plus-typed and typed contents of the wrong type are INVALID_ARGUMENT', async () => {
  await expectStatus(
    simple(
      (r) =>
        (r.inputs[0]!.contents = {
          boolContents: [],
          intContents: ones(16),
          int64Contents: [],
          uintContents: [],
          uint64Contents: [],
          fp32Contents: [],
          fp64Contents: [],
          bytesContents: [],
        }),
    ),
    status.INVALID_ARGUMENT,
    ['INPUT0', 'raw_input_contents'],
  );
  const typed = ModelInferRequest.fromPartial({
    modelName: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n], contents: { fp32Contents: ones(16) } },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n], contents: { intContents: ones(16) } },
    ],
  });
  await expectStatus(typed, status.INVALID_ARGUMENT, ['INPUT0', 'int_contents', 'fp32_contents']);
});

test(`a message over --grpc-max-message-size (${MAX_MESSAGE} bytes here) is RESOURCE_EXHAUSTED`, async () => {
  const n = MAX_MESSAGE / 4 + 16;
  const req = ModelInferRequest.fromPartial({
    modelName: 'identity_fp32',
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, BigInt(n)] }],
    rawInputContents: [float32Buffer(new Array(n).fill(0.5))],
  });
  const err = await callError(client, client.modelInfer, req);
  assert.is(err.code, status.RESOURCE_EXHAUSTED, err.details);
  await stillServing();
});

test('bytes that are not a ModelInferRequest get an error, not a crash', async () => {
  const Raw = grpc.makeGenericClientConstructor(
    {
      modelInfer: {
        path: '/inference.GRPCInferenceService/ModelInfer',
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    'Raw',
  );
  const raw = new Raw(server.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { modelInfer: (...args: unknown[]) => unknown };
  const err = await new Promise<grpc.ServiceError>((resolve) =>
    raw.modelInfer(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), (e: grpc.ServiceError | null) => resolve(e!)),
  );
  assert.ok(err, 'the call fails');
  assert.is(err.code, status.INVALID_ARGUMENT, err.details);
  assert.match(err.details, /not a valid ModelInferRequest message/);
  raw.close();
  await stillServing();
});

test('a corrupt model.onnx leaves that model UNAVAILABLE with the ORT error; the others serve', async () => {
  const repoRootPattern = new RegExp(repo.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  await expectStatus(ModelInferRequest.fromPartial({ modelName: 'corrupt' }), status.UNAVAILABLE, ['corrupt', '1/model.onnx', 'Protobuf parsing failed']);
  const { models } = await call(client, client.repositoryIndex, { repositoryName: '', ready: false });
  const corrupt = models.find((m) => m.name === 'corrupt')!;
  assert.is(corrupt.version, '1');
  assert.is(corrupt.state, 'UNAVAILABLE');
  assert.match(corrupt.reason, /model\.onnx/);
  assert.not.match(corrupt.reason, repoRootPattern, 'no server path in the reason');
  assert.equal(
    models.filter((m) => m.state === 'READY').map((m) => m.name),
    ['identity_bytes', 'identity_fp32', 'simple'],
  );
  assert.is((await call(client, client.modelReady, { name: 'corrupt', version: '' })).ready, false);
});

test('a config.pbtxt error is UNAVAILABLE with the file, line and column', async () => {
  const { models } = await call(client, client.repositoryIndex, { repositoryName: '', ready: false });
  const bad = models.find((m) => m.name === 'badconfig')!;
  assert.is(bad.state, 'UNAVAILABLE');
  assert.match(bad.reason, /badconfig\/config\.pbtxt:3:24: unknown field 'colour' in inference\.ModelInput/);
  await expectStatus(ModelInferRequest.fromPartial({ modelName: 'badconfig' }), status.UNAVAILABLE, ['badconfig', "unknown field 'colour'"]);
});

test('a config that disagrees with its ONNX model is UNAVAILABLE saying how', async () => {
  const { models } = await call(client, client.repositoryIndex, { repositoryName: '', ready: false });
  assert.match(models.find((m) => m.name === 'mismatch')!.reason, /input 'INPUT0': config says TYPE_INT32 but the ONNX model has float32/);
});

test('dynamic_batching settings Triton refuses make the model UNAVAILABLE naming the field', async () => {
  const { models } = await call(client, client.repositoryIndex, { repositoryName: '', ready: false });
  const bad = models.find((m) => m.name === 'badbatch')!;
  assert.is(bad.state, 'UNAVAILABLE');
  assert.match(bad.reason, /model 'badbatch': dynamic_batching\.preferred_batch_size 16 exceeds max_batch_size 8/);
});

test('with strict readiness the server is live but not ready while a model is UNAVAILABLE', async () => {
  assert.is((await call(client, client.serverLive, {})).live, true);
  assert.is((await call(client, client.serverReady, {})).ready, false);
  await stillServing();
});

test.run();
