// Explicit model control: --load-model, RepositoryModelLoad/Unload, the states a client
// sees on the way (LOADING, unloaded → UNAVAILABLE), health following each model, and a
// graceful shutdown that finishes in-flight calls.

import { status } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { call, callError, connect, float32Buffer, healthClient, int32Buffer, readFloat32, readInt32, type InferenceClient } from '../helpers/client.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';
import { identityModel } from '../../scripts/onnx-builder.js';
import { simpleConfigJson } from '../helpers/simple-config.js';

const test = suite('model lifecycle in explicit mode');
let server: ServerProcess;
let client: InferenceClient;
let repo: TempRepo;

test.before(async () => {
  repo = new TempRepo().copyBundled('simple').copyBundled('identity_fp32').copyBundled('add_version').copyBundled('ocr_cls');
  server = await startServerProcess([`--model-repository=${repo.root}`, '--model-control-mode=explicit', '--load-model=simple', '--exit-timeout-secs=60']);
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  if (server?.child.exitCode === null) await server.stop();
  repo?.dispose();
});

const simpleReq = () =>
  ModelInferRequest.fromPartial({
    modelName: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
    ],
    rawInputContents: [int32Buffer(Array(16).fill(5)), int32Buffer(Array(16).fill(2))],
  });
const fp32Req = () =>
  ModelInferRequest.fromPartial({
    modelName: 'identity_fp32',
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [2n, 2n] }],
    rawInputContents: [float32Buffer([1, 2, 3, 4])],
  });

function healthOf(service: string): Promise<string> {
  const h = healthClient(server.address);
  return new Promise<string>((resolve, reject) =>
    h['check']!({ service }, (err: Error | null, res: { status: string }) => {
      h.close();
      if (err) reject(err);
      else resolve(res.status);
    }),
  );
}

async function index(): Promise<string[]> {
  const { models } = await call(client, client.repositoryIndex, { repositoryName: '', ready: false });
  return models.map((m) => `${m.name}:${m.version}:${m.state}${m.reason ? `:${m.reason}` : ''}`);
}

test('only --load-model models are loaded; the others are listed without a state', async () => {
  assert.equal(await index(), ['add_version::', 'identity_fp32::', 'ocr_cls::', 'simple:1:READY']);
  assert.is((await call(client, client.serverReady, {})).ready, true);
  const err = await callError(client, client.modelInfer, fp32Req());
  assert.is(err.code, status.UNAVAILABLE);
  assert.match(err.details, /model 'identity_fp32' is in the model repository but not loaded; load it with RepositoryModelLoad/);
});

test('RepositoryModelLoad loads a model; it serves and its health turns SERVING', async () => {
  await call(client, client.repositoryModelLoad, { repositoryName: '', modelName: 'identity_fp32', parameters: {} });
  const res = await call(client, client.modelInfer, fp32Req());
  assert.equal(readFloat32(res.rawOutputContents[0]!), [1, 2, 3, 4]);
  assert.is(await healthOf('identity_fp32'), 'SERVING');
});

test('a request to a model that is still loading is UNAVAILABLE, and it serves once loaded', async () => {
  const loading = call(client, client.repositoryModelLoad, { repositoryName: '', modelName: 'ocr_cls', parameters: {} });
  const during = await callError(client, client.modelInfer, ModelInferRequest.fromPartial({ modelName: 'ocr_cls' }));
  assert.is(during.code, status.UNAVAILABLE);
  assert.match(during.details, /model 'ocr_cls' is LOADING/);
  await loading;
  assert.is((await call(client, client.modelReady, { name: 'ocr_cls', version: '' })).ready, true);
});

test('RepositoryModelUnload makes a model UNAVAILABLE with reason unloaded, and health NOT_SERVING', async () => {
  await call(client, client.repositoryModelUnload, { repositoryName: '', modelName: 'simple', parameters: {} });
  const err = await callError(client, client.modelInfer, simpleReq());
  assert.is(err.code, status.UNAVAILABLE);
  assert.match(err.details, /model 'simple' has no ready version \(unloaded\)/);
  assert.ok((await index()).includes('simple:1:UNAVAILABLE:unloaded'));
  assert.is(await healthOf('simple'), 'NOT_SERVING');
  assert.is((await call(client, client.serverReady, {})).ready, true, 'an unloaded model does not make the server unready');
});

test('a model can be loaded again after unload, and its statistics carry on', async () => {
  await call(client, client.repositoryModelLoad, { repositoryName: '', modelName: 'simple', parameters: {} });
  const res = await call(client, client.modelInfer, simpleReq());
  assert.equal(readInt32(res.rawOutputContents[0]!), Array(16).fill(7));
  assert.is(await healthOf('simple'), 'SERVING');
});

test('loading a model that is not in the repository is NOT_FOUND; unknown parameters are UNIMPLEMENTED', async () => {
  const err = await callError(client, client.repositoryModelLoad, { repositoryName: '', modelName: 'ghost', parameters: {} });
  assert.is(err.code, status.NOT_FOUND);
  assert.match(err.details, /model 'ghost' is not in the model repository/);
  const p = await callError(client, client.repositoryModelLoad, {
    repositoryName: '',
    modelName: 'simple',
    parameters: { unload_dependents: { parameterChoice: { $case: 'boolParam', value: true } } },
  });
  assert.is(p.code, status.UNIMPLEMENTED);
  assert.match(p.details, /RepositoryModelLoad parameter 'unload_dependents' is not implemented; 'config' and 'file:<version>\/<name>' are/);
});

test('a load request can override config.pbtxt with a JSON config, as Triton allows', async () => {
  const config = simpleConfigJson('simple', { platform: undefined, max_batch_size: 2 });
  await call(client, client.repositoryModelLoad, {
    repositoryName: '',
    modelName: 'simple',
    parameters: { config: { parameterChoice: { $case: 'stringParam', value: config } } },
  });
  assert.is((await call(client, client.modelConfig, { name: 'simple', version: '' })).config!.maxBatchSize, 2);
  const big = simpleReq();
  big.inputs.forEach((i) => (i.shape = [3n, 16n]));
  big.rawInputContents = [int32Buffer(Array(48).fill(1)), int32Buffer(Array(48).fill(1))];
  assert.match((await callError(client, client.modelInfer, big)).details, /batch size 3 is outside 1\.\.2/);
  await call(client, client.repositoryModelLoad, { repositoryName: '', modelName: 'simple', parameters: {} });
  assert.is((await call(client, client.modelConfig, { name: 'simple', version: '' })).config!.maxBatchSize, 8, 'a plain load goes back to config.pbtxt');
});

test('a load request can bring the model file itself, with its config', async () => {
  const config = JSON.stringify({
    name: 'uploaded',
    max_batch_size: 4,
    input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [2] }],
    output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [2] }],
  });
  await call(client, client.repositoryModelLoad, {
    repositoryName: '',
    modelName: 'uploaded',
    parameters: {
      config: { parameterChoice: { $case: 'stringParam', value: config } },
      'file:1/model.onnx': { parameterChoice: { $case: 'bytesParam', value: Buffer.from(identityModel('uploaded', 'FP32', ['b', 2])) } },
    },
  });
  const res = await call(
    client,
    client.modelInfer,
    ModelInferRequest.fromPartial({
      modelName: 'uploaded',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, 2n] }],
      rawInputContents: [float32Buffer([7, 8])],
    }),
  );
  assert.equal(readFloat32(res.rawOutputContents[0]!), [7, 8]);
  const noConfig = await callError(client, client.repositoryModelLoad, {
    repositoryName: '',
    modelName: 'uploaded2',
    parameters: { 'file:1/model.onnx': { parameterChoice: { $case: 'bytesParam', value: Buffer.from('x') } } },
  });
  assert.is(noConfig.code, status.INVALID_ARGUMENT);
  assert.match(noConfig.details, /needs a "config" parameter too/);
});

test('SIGTERM lets in-flight calls finish, then the server exits 0', async () => {
  const n = 3 * 48 * 192 * 8;
  const image = float32Buffer(new Array(n).fill(0.1));
  const req = () =>
    ModelInferRequest.fromPartial({ modelName: 'ocr_cls', inputs: [{ name: 'x', datatype: 'FP32', shape: [8n, 3n, 48n, 192n] }], rawInputContents: [image] });
  let firstDone!: () => void;
  const first = new Promise<void>((r) => (firstDone = r));
  const calls = Array.from({ length: 12 }, () =>
    call(client, client.modelInfer, req()).then((res) => {
      firstDone();
      return res;
    }),
  );
  await first;
  server.child.kill('SIGTERM');
  const results = await Promise.allSettled(calls);
  const failed = results.filter((r) => r.status === 'rejected');
  assert.is(failed.length, 0, `in-flight calls failed: ${failed.map((f) => String((f as PromiseRejectedResult).reason)).join('; ')}`);
  for (const r of results) assert.equal((r as PromiseFulfilledResult<{ outputs: Array<{ shape: bigint[] }> }>).value.outputs[0]!.shape, [8n, 2n]);
  assert.is(await server.exited, 0);
  assert.ok(server.lines.some((l) => /server stopped/.test(l)));
});

test.run();

const draining = suite('the drain before shutdown (--health-drain-secs)');
let drainServer: ServerProcess;

draining.before(async () => {
  drainServer = await startServerProcess(['--model-control-mode=explicit', '--load-model=simple', '--health-drain-secs=3']);
});

draining.after(async () => {
  if (drainServer?.child.exitCode === null) await drainServer.stop('SIGKILL');
});

draining("SIGTERM turns the server-wide health ('' and the service name) NOT_SERVING at once, HTTP ready 400, while calls are still answered", async () => {
  const h = healthClient(drainServer.address);
  const c = connect(drainServer.address);
  const check = (service: string) =>
    new Promise<string>((resolve, reject) =>
      h['check']!({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
    );
  try {
    assert.is(await check(''), 'SERVING');
    const since = drainServer.lines.length;
    drainServer.child.kill('SIGTERM');
    await drainServer.waitForLine(/SIGTERM received: draining and stopping/, 10_000, since);
    // The balancer's probes (Kubernetes, Envoy, haproxy ask for '') must see the drain, not the closed port.
    assert.is(await check(''), 'NOT_SERVING');
    assert.is(await check('inference.GRPCInferenceService'), 'NOT_SERVING');
    assert.is(await check('simple'), 'NOT_SERVING');
    assert.is((await call(c, c.serverReady, {})).ready, false);
    assert.is((await fetch(`http://127.0.0.1:${drainServer.httpPort}/v2/health/ready`)).status, 400);
    assert.equal(readInt32((await call(c, c.modelInfer, simpleReq())).rawOutputContents[0]!), Array(16).fill(7), 'still answering during the drain');
    assert.is(await drainServer.exited, 0);
  } finally {
    h.close();
    c.close();
  }
});

draining.run();
