// Every RPC of GRPCInferenceService against the bundled model-repo/, through a real
// server process and a real gRPC client.

import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModelInferRequest, ModelStreamInferResponse } from '../../src/generated/inference/grpc_service.js';
import { ModelInferRequest as InferRequest } from '../../src/generated/inference/grpc_service.js';
import {
  bytesBuffer,
  call,
  callError,
  connect,
  healthClient,
  reflectionClient,
  float32Buffer,
  int32Buffer,
  readBytes,
  readFloat32,
  readInt32,
  type InferenceClient,
} from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';

const test = suite('serving the bundled model repository');
let server: TestServer;
let client: InferenceClient;

test.before(async () => {
  server = await startServer();
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  const code = await server?.stop();
  assert.is(code, 0, 'the server exits 0 on SIGTERM');
});

function simpleRequest(a: number[], b: number[], extra: Partial<ModelInferRequest> = {}): ModelInferRequest {
  const rows = a.length / 16;
  return InferRequest.fromPartial({
    modelName: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [BigInt(rows), 16n] },
      { name: 'INPUT1', datatype: 'INT32', shape: [BigInt(rows), 16n] },
    ],
    rawInputContents: [int32Buffer(a), int32Buffer(b)],
    ...extra,
  });
}

const range = <T = number>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

test('ServerLive and ServerReady are true once the repository is loaded', async () => {
  assert.is((await call(client, client.serverLive, {})).live, true);
  assert.is((await call(client, client.serverReady, {})).ready, true);
});

test('ServerMetadata names the server and its extensions', async () => {
  const m = await call(client, client.serverMetadata, {});
  assert.is(m.name, 'triton-ts');
  assert.match(m.version, /^\d+\.\d+\.\d+/);
  assert.ok(m.extensions.includes('model_repository'));
  assert.ok(m.extensions.includes('statistics'));
});

test('ModelReady answers per model and version', async () => {
  assert.is((await call(client, client.modelReady, { name: 'simple', version: '' })).ready, true);
  assert.is((await call(client, client.modelReady, { name: 'add_version', version: '1' })).ready, true);
  assert.is((await call(client, client.modelReady, { name: 'add_version', version: '3' })).ready, false);
  assert.is((await call(client, client.modelReady, { name: 'nope', version: '' })).ready, false);
  const err = await callError(client, client.modelReady, { name: 'simple', version: 'one' });
  assert.is(err.code, status.INVALID_ARGUMENT);
});

test('ModelMetadata gives KServe datatypes and shapes with the batch dimension', async () => {
  const m = await call(client, client.modelMetadata, { name: 'simple', version: '' });
  assert.is(m.name, 'simple');
  assert.equal(m.versions, ['1']);
  assert.is(m.platform, 'onnxruntime_onnx');
  assert.equal(
    m.inputs.map((t) => [t.name, t.datatype, t.shape]),
    [
      ['INPUT0', 'INT32', [-1n, 16n]],
      ['INPUT1', 'INT32', [-1n, 16n]],
    ],
  );
  const v = await call(client, client.modelMetadata, { name: 'add_version', version: '' });
  assert.equal(v.versions, ['1', '2']);
  const bytes = await call(client, client.modelMetadata, { name: 'identity_bytes', version: '' });
  assert.equal(bytes.inputs[0]!.datatype, 'BYTES');
});

test('ModelConfig returns the auto-completed config of a model that has no config.pbtxt', async () => {
  const { config } = await call(client, client.modelConfig, { name: 'identity_fp32', version: '' });
  assert.ok(config);
  assert.is(config.name, 'identity_fp32');
  assert.is(config.maxBatchSize, 4);
  assert.is(config.backend, 'onnxruntime');
  assert.equal(
    config.input.map((i) => [i.name, i.dataType, i.dims]),
    [['INPUT0', 11, [-1]]],
  );
  assert.equal(
    config.output.map((i) => [i.name, i.dataType, i.dims]),
    [['OUTPUT0', 11, [-1]]],
  );
  const simple = await call(client, client.modelConfig, { name: 'simple', version: '1' });
  assert.is(simple.config!.instanceGroup[0]!.name, 'simple_0');
  assert.is((await callError(client, client.modelConfig, { name: 'nope', version: '' })).code, status.NOT_FOUND);
});

test('ModelInfer on simple returns sum and difference, echoing the id', async () => {
  const a = range(16, (i) => i);
  const b = range(16, () => 1);
  const res = await call(client, client.modelInfer, simpleRequest(a, b, { id: 'req-7' }));
  assert.is(res.id, 'req-7');
  assert.is(res.modelName, 'simple');
  assert.is(res.modelVersion, '1');
  assert.equal(
    res.outputs.map((o) => [o.name, o.datatype, o.shape]),
    [
      ['OUTPUT0', 'INT32', [1n, 16n]],
      ['OUTPUT1', 'INT32', [1n, 16n]],
    ],
  );
  assert.equal(
    readInt32(res.rawOutputContents[0]!),
    a.map((x) => x + 1),
  );
  assert.equal(
    readInt32(res.rawOutputContents[1]!),
    a.map((x) => x - 1),
  );
});

test('ModelInfer with typed contents and a requested subset of outputs', async () => {
  const req = InferRequest.fromPartial({
    modelName: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [2n, 16n], contents: { intContents: range(32, (i) => i * 2) } },
      { name: 'INPUT1', datatype: 'INT32', shape: [2n, 16n], contents: { intContents: range(32, (i) => i) } },
    ],
    outputs: [{ name: 'OUTPUT1' }],
  });
  const res = await call(client, client.modelInfer, req);
  assert.equal(
    res.outputs.map((o) => o.name),
    ['OUTPUT1'],
  );
  assert.equal(res.outputs[0]!.shape, [2n, 16n]);
  assert.equal(
    readInt32(res.rawOutputContents[0]!),
    range(32, (i) => i),
  );
});

test('the two versions of add_version give different answers; no version means the latest', async () => {
  const req = (version: string) =>
    InferRequest.fromPartial({
      modelName: 'add_version',
      modelVersion: version,
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, 4n] }],
      rawInputContents: [float32Buffer([0, 1, 2, 3])],
    });
  assert.equal(readFloat32((await call(client, client.modelInfer, req('1'))).rawOutputContents[0]!), [1, 2, 3, 4]);
  assert.equal(readFloat32((await call(client, client.modelInfer, req('2'))).rawOutputContents[0]!), [2, 3, 4, 5]);
  const latest = await call(client, client.modelInfer, req(''));
  assert.is(latest.modelVersion, '2');
  assert.equal(readFloat32(latest.rawOutputContents[0]!), [2, 3, 4, 5]);
});

test('the BYTES identity returns the same strings, as raw and as typed contents', async () => {
  const words = ['hello', '', 'wörld ✓'];
  const raw = await call(
    client,
    client.modelInfer,
    InferRequest.fromPartial({
      modelName: 'identity_bytes',
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1n, 3n] }],
      rawInputContents: [bytesBuffer(words)],
    }),
  );
  assert.is(raw.outputs[0]!.datatype, 'BYTES');
  assert.equal(raw.outputs[0]!.shape, [1n, 3n]);
  assert.equal(readBytes(raw.rawOutputContents[0]!), words);
  const typed = await call(
    client,
    client.modelInfer,
    InferRequest.fromPartial({
      modelName: 'identity_bytes',
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [2n, 1n], contents: { bytesContents: [Buffer.from('a'), Buffer.from('bc')] } }],
    }),
  );
  assert.equal(readBytes(typed.rawOutputContents[0]!), ['a', 'bc']);
});

test('the real PaddleOCR classifier answers a probability pair per image', async () => {
  const n = 3 * 48 * 192;
  const images = range(2 * n, (i) => Math.sin(i / 97) * 0.5);
  const res = await call(
    client,
    client.modelInfer,
    InferRequest.fromPartial({
      modelName: 'ocr_cls',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2n, 3n, 48n, 192n] }],
      rawInputContents: [float32Buffer(images)],
    }),
  );
  assert.equal(res.outputs[0]!.shape, [2n, 2n]);
  const p = readFloat32(res.rawOutputContents[0]!);
  for (const row of [0, 1]) {
    assert.ok(Math.abs(p[row * 2]! + p[row * 2 + 1]! - 1) < 1e-4, `softmax row ${row} sums to 1: ${p}`);
  }
});

test('200 concurrent ModelInfer calls each get their own answer', async () => {
  const calls = range(200, (k) => {
    const a = range(16, (i) => k * 1000 + i);
    const b = range(16, (i) => k - i);
    return call(client, client.modelInfer, simpleRequest(a, b, { id: `c${k}` })).then((res) => {
      assert.is(res.id, `c${k}`);
      assert.equal(
        readInt32(res.rawOutputContents[0]!),
        a.map((x, i) => x + b[i]!),
      );
      assert.equal(
        readInt32(res.rawOutputContents[1]!),
        a.map((x, i) => x - b[i]!),
      );
    });
  });
  await Promise.all(calls);
});

test('ModelStreamInfer answers each request, echoes ids, and reports errors without closing', async () => {
  const stream: ClientDuplexStream<ModelInferRequest, ModelStreamInferResponse> = client.modelStreamInfer();
  const got: ModelStreamInferResponse[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (m: ModelStreamInferResponse) => got.push(m));
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  for (let k = 0; k < 10; k++) {
    if (k === 4) {
      stream.write(InferRequest.fromPartial({ modelName: 'no_such_model', id: 's-bad' }));
      continue;
    }
    stream.write(
      simpleRequest(
        range(16, () => k),
        range(16, () => 1),
        { id: `s${k}` },
      ),
    );
  }
  stream.end();
  await done;
  assert.is(got.length, 10);
  const bad = got.find((m) => m.inferResponse?.id === 's-bad');
  assert.ok(bad, 'the failed request is answered with its id');
  assert.match(bad.errorMessage, /model 'no_such_model' is not in the model repository/);
  for (let k = 0; k < 10; k++) {
    if (k === 4) continue;
    const m = got.find((x) => x.inferResponse?.id === `s${k}`);
    assert.ok(m, `response for s${k}`);
    assert.is(m.errorMessage, '');
    assert.equal(
      readInt32(m.inferResponse!.rawOutputContents[0]!),
      range(16, () => k + 1),
    );
  }
});

test('ModelStatistics counts successes, failures, executions and durations per version', async () => {
  const before = (await call(client, client.modelStatistics, { name: 'simple', version: '1' })).modelStats[0]!;
  await call(
    client,
    client.modelInfer,
    simpleRequest(
      range(48, () => 1),
      range(48, () => 2),
    ),
  );
  await callError(
    client,
    client.modelInfer,
    simpleRequest(
      range(16, () => 1),
      range(15, () => 2),
    ),
  );
  const after = (await call(client, client.modelStatistics, { name: 'simple', version: '1' })).modelStats[0]!;
  assert.is(after.name, 'simple');
  assert.is(after.version, '1');
  const s0 = before.inferenceStats!;
  const s1 = after.inferenceStats!;
  assert.is(s1.success!.count - s0.success!.count, 1n);
  assert.is(s1.fail!.count - s0.fail!.count, 1n);
  assert.is(after.inferenceCount - before.inferenceCount, 3n, 'a batch of 3 rows counts 3 inferences');
  assert.is(after.executionCount - before.executionCount, 1n);
  assert.ok(s1.computeInfer!.ns > s0.computeInfer!.ns);
  assert.ok(s1.success!.ns > s0.success!.ns);
  assert.ok(Number(after.lastInference) >= Date.now() - 60_000);
  assert.ok(after.batchStats.some((b) => b.batchSize === 3n && b.computeInfer!.count >= 1n));
  const all = await call(client, client.modelStatistics, { name: '', version: '' });
  assert.equal([...new Set(all.modelStats.map((m) => m.name))].sort(), ['add_version', 'identity_bytes', 'identity_fp32', 'ocr_cls', 'simple']);
  assert.is((await callError(client, client.modelStatistics, { name: 'nope', version: '' })).code, status.NOT_FOUND);
});

test('RepositoryIndex lists every model version as READY', async () => {
  const { models } = await call(client, client.repositoryIndex, { repositoryName: '', ready: false });
  assert.equal(
    models.map((m) => `${m.name}:${m.version}:${m.state}`),
    ['add_version:1:READY', 'add_version:2:READY', 'identity_bytes:1:READY', 'identity_fp32:1:READY', 'ocr_cls:1:READY', 'simple:1:READY'],
  );
});

test('RepositoryModelLoad and Unload need explicit control mode', async () => {
  const err = await callError(client, client.repositoryModelLoad, { repositoryName: '', modelName: 'simple', parameters: {} });
  assert.is(err.code, status.FAILED_PRECONDITION);
  assert.match(err.details, /needs --model-control-mode=explicit; this server runs in 'none' mode/);
  assert.is(
    (await callError(client, client.repositoryModelUnload, { repositoryName: '', modelName: 'simple', parameters: {} })).code,
    status.FAILED_PRECONDITION,
  );
});

test('CUDA shared memory, trace and log settings answer UNIMPLEMENTED with a message; system shared memory is off by default', async () => {
  for (const err of [
    await callError(client, client.systemSharedMemoryRegister, { name: 'r', key: '/k', offset: 0n, byteSize: 8n }),
    await callError(client, client.systemSharedMemoryUnregister, { name: '' }),
  ]) {
    assert.is(err.code, status.UNIMPLEMENTED, 'as tritonserver without --allow-client-shm=true');
    assert.match(err.details, /--allow-client-shm=true/);
  }
  assert.equal((await call(client, client.systemSharedMemoryStatus, { name: '' })).regions, {}, 'status is not gated: no regions');
  const checks: Array<[string, Promise<{ code: number; details: string }>]> = [
    ['CudaSharedMemoryStatus', callError(client, client.cudaSharedMemoryStatus, { name: '' })],
    ['CudaSharedMemoryRegister', callError(client, client.cudaSharedMemoryRegister, { name: 'r', rawHandle: Buffer.alloc(0), deviceId: 0n, byteSize: 8n })],
    ['CudaSharedMemoryUnregister', callError(client, client.cudaSharedMemoryUnregister, { name: '' })],
    ['TraceSetting', callError(client, client.traceSetting, { settings: {}, modelName: '' })],
    ['LogSettings', callError(client, client.logSettings, { settings: {} })],
  ];
  for (const [rpc, p] of checks) {
    const err = await p;
    assert.is(err.code, status.UNIMPLEMENTED, rpc);
    assert.match(err.details, new RegExp(`${rpc}\\) is not implemented by this server yet`), rpc);
  }
});

test('grpc.health.v1 Check reports the server and each model; unknown names are NOT_FOUND', async () => {
  const health = healthClient(server.address);
  const check = (service: string) =>
    new Promise<{ status: string }>((resolve, reject) =>
      health['check']!({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res))),
    );
  assert.is((await check('')).status, 'SERVING');
  assert.is((await check('inference.GRPCInferenceService')).status, 'SERVING');
  assert.is((await check('simple')).status, 'SERVING');
  assert.is((await check('ocr_cls')).status, 'SERVING');
  const err = await check('no_such_model').then(
    () => undefined,
    (e: { code: number }) => e,
  );
  assert.is(err?.code, status.NOT_FOUND);
  health.close();
});

test('grpc.health.v1 Watch streams the current status', async () => {
  const health = healthClient(server.address);
  const first = await new Promise<string>((resolve, reject) => {
    const stream = health['watch']!({ service: 'simple' });
    stream.on('data', (m: { status: string }) => {
      resolve(m.status);
      stream.cancel();
    });
    stream.on('error', (e: { code: number }) => (e.code === status.CANCELLED ? undefined : reject(e)));
  });
  assert.is(first, 'SERVING');
  health.close();
});

test('server reflection lists the inference, health and reflection services', async () => {
  const reflection = reflectionClient(server.address);
  const services = await new Promise<string[]>((resolve, reject) => {
    const stream = reflection['serverReflectionInfo']!();
    stream.on('data', (m: { listServicesResponse?: { service: Array<{ name: string }> } }) => {
      resolve((m.listServicesResponse?.service ?? []).map((s) => s.name));
      stream.end();
    });
    stream.on('error', reject);
    stream.write({ listServices: '' });
  });
  assert.ok(services.includes('inference.GRPCInferenceService'), services.join(','));
  assert.ok(services.includes('grpc.health.v1.Health'), services.join(','));
  const file = await new Promise<Buffer[]>((resolve, reject) => {
    const stream = reflection['serverReflectionInfo']!();
    stream.on('data', (m: { fileDescriptorResponse?: { fileDescriptorProto: Buffer[] } }) => {
      resolve(m.fileDescriptorResponse?.fileDescriptorProto ?? []);
      stream.end();
    });
    stream.on('error', reject);
    stream.write({ fileContainingSymbol: 'inference.GRPCInferenceService' });
  });
  assert.ok(file.length >= 1, 'descriptors for the inference service are served');
  assert.ok(file.some((f) => f.includes('ModelInferRequest')));
  reflection.close();
});

test.run();
