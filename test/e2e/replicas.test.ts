// Replicas against the real server: two CPU replicas share the load, a replica made to
// fail (test-only fault switch) leaves rotation and comes back, a worker killed mid-batch
// fails only its own requests, every replica open is UNAVAILABLE, and device kinds load
// (KIND_GPU without CUDA refused clearly, KIND_AUTO on the CPU).

import { status } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { spinModel } from '../../scripts/onnx-builder.js';
import { call, callError, connect, float32Buffer, int32Buffer, readInt32, testFault, type InferenceClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';

const test = suite('replicas');
let server: TestServer;
let client: InferenceClient;
let repo: TempRepo;

const breakerParams = `
  parameters { key: "breaker_volume_threshold" value: { string_value: "2" } }
  parameters { key: "breaker_reset_timeout_ms" value: { string_value: "300" } }`;

test.before(async () => {
  const spin = spinModel();
  repo = new TempRepo()
    .write('pair/1/model.onnx', spin)
    .write('pair/config.pbtxt', `max_batch_size: 8\ninstance_group [ { kind: KIND_CPU, count: 2 } ]\n${breakerParams}`)
    .write('pair_batched/1/model.onnx', spin)
    .write('pair_batched/config.pbtxt', `max_batch_size: 8\ndynamic_batching { }\ninstance_group [ { kind: KIND_CPU, count: 2 } ]\n${breakerParams}`)
    .write('single/1/model.onnx', spin)
    .write('single/config.pbtxt', `max_batch_size: 8\n${breakerParams}`)
    .copyBundled('simple')
    .copyBundled('simple', 'on_gpu')
    .copyBundled('simple', 'on_auto');
  repo.write('on_gpu/config.pbtxt', 'max_batch_size: 8\ninstance_group [ { kind: KIND_GPU, gpus: [ 0 ] } ]\n');
  repo.write('on_auto/config.pbtxt', 'max_batch_size: 8\ninstance_group [ { kind: KIND_AUTO } ]\n');
  server = await startServer([`--model-repository=${repo.root}`, '--log-verbose=1', '--strict-readiness=false'], 60_000, {
    TRITON_TS_TEST_FAULTS: '1',
    TRITON_TS_FORCE_NO_CUDA: '1',
  });
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  assert.is(await server?.stop(), 0);
  repo?.dispose();
});

function spinReq(model: string, rounds: number, extra: Partial<ModelInferRequest> = {}): ModelInferRequest {
  return ModelInferRequest.fromPartial({
    modelName: model,
    inputs: [
      { name: 'SPIN', datatype: 'INT64', shape: [1, 1] },
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 4] },
    ],
    rawInputContents: [Buffer.from(new BigInt64Array([BigInt(rounds)]).buffer), float32Buffer([1, 2, 3, 4])],
    ...extra,
  });
}
const fault = testFault;
const executedOn = (replica: string) => new RegExp(`batch executed .*replica="${replica}"`);

test('two CPU replicas both serve under load', async () => {
  const before = server.lines.length;
  const results = await Promise.all(
    Array.from({ length: 40 }, () =>
      call(client, client.modelInfer, spinReq('pair_batched', 20_000)).then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    ),
  );
  assert.equal(
    results.filter((r) => r !== 'ok'),
    [],
  );
  await server.waitForLine(executedOn('pair_batched_0_0'), 10_000);
  await server.waitForLine(executedOn('pair_batched_0_1'), 10_000);
  const lines = server.lines.slice(before);
  const count = (r: string) => lines.filter((l) => executedOn(r).test(l)).length;
  assert.ok(
    count('pair_batched_0_0') > 0 && count('pair_batched_0_1') > 0,
    `per-replica batches: ${count('pair_batched_0_0')} and ${count('pair_batched_0_1')}`,
  );
});

test('a failing replica leaves rotation while the other serves, and comes back by itself', async () => {
  // Arming the switch is itself a request, and it may meet the failing replica.
  let failures = 0;
  await call(client, client.modelInfer, spinReq('pair', 1, { parameters: fault('fail-replica:0:1000') })).catch(() => failures++);
  for (let k = 0; k < 6; k++) {
    await call(client, client.modelInfer, spinReq('pair', 1)).catch(() => failures++);
  }
  await server.waitForLine(/replica pair_0_0 circuit breaker open/, 10_000);
  assert.ok(failures >= 1 && failures <= 3, `${failures} requests met the failing replica before its breaker opened`);
  const mark = server.lines.length;
  for (let k = 0; k < 6; k++) await call(client, client.modelInfer, spinReq('pair', 1));
  assert.not.ok(
    server.lines.slice(mark).some((l) => executedOn('pair_0_0').test(l)),
    'the open replica got no batches',
  );
  // Repair it: the half-open trial succeeds and the breaker closes.
  await call(client, client.modelInfer, spinReq('pair', 1, { parameters: fault('fail-replica:0:0') }));
  await server.waitForLine(/replica pair_0_0 circuit breaker half-open/, 10_000);
  for (let k = 0; k < 4; k++) await call(client, client.modelInfer, spinReq('pair', 1));
  await server.waitForLine(/replica pair_0_0 circuit breaker closed/, 10_000);
});

test('a worker killed mid-batch fails only its own request; the server keeps serving', async () => {
  const others = Array.from({ length: 8 }, () =>
    call(client, client.modelInfer, spinReq('pair', 5000)).then(
      () => 'ok',
      (e: Error) => e.message,
    ),
  );
  const killed = await callError(client, client.modelInfer, spinReq('pair', 1, { parameters: fault('exit') }));
  assert.is(killed.code, status.INTERNAL);
  assert.match(killed.details, /worker thread died while running this batch \(worker exited with code: 3\); a new worker replaces it/);
  const results = await Promise.all(others);
  assert.equal(
    results.filter((r) => r !== 'ok'),
    [],
    'requests of other batches are unaffected',
  );
  const after = await Promise.all(Array.from({ length: 6 }, () => call(client, client.modelInfer, spinReq('pair', 1))));
  assert.is(after.length, 6);
});

test('when every replica is out of rotation requests get UNAVAILABLE naming the model', async () => {
  await call(client, client.modelInfer, spinReq('single', 1, { parameters: fault('fail-replica:0:1000') })).catch(() => undefined);
  for (let k = 0; k < 3; k++) await call(client, client.modelInfer, spinReq('single', 1)).catch(() => undefined);
  await server.waitForLine(/replica single_0_0 circuit breaker open/, 10_000);
  const err = await callError(client, client.modelInfer, spinReq('single', 1));
  assert.is(err.code, status.UNAVAILABLE);
  assert.match(err.details, /model 'single': every replica is out of rotation \(circuit breakers open after failures\)/);
});

test('a KIND_GPU model on a machine without CUDA fails to load with a clear message; the rest serve', async () => {
  const { models } = await call(client, client.repositoryIndex, { repositoryName: '', ready: false });
  const gpu = models.find((m) => m.name === 'on_gpu')!;
  assert.is(gpu.state, 'UNAVAILABLE');
  assert.match(gpu.reason, /instance on_gpu_0_0 is KIND_GPU \(GPU 0\), but CUDA disabled/);
  const res = await call(
    client,
    client.modelInfer,
    ModelInferRequest.fromPartial({
      modelName: 'simple',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16] },
      ],
      rawInputContents: [int32Buffer(Array(16).fill(1)), int32Buffer(Array(16).fill(1))],
    }),
  );
  assert.equal(readInt32(res.rawOutputContents[0]!), Array(16).fill(2));
});

test('a KIND_AUTO model falls back to the CPU and logs it', async () => {
  await server.waitForLine(/model 'on_auto' version 1: instance on_auto_0_0 on cpu \(KIND_AUTO runs on the CPU: CUDA disabled/, 5000);
  assert.is((await call(client, client.modelReady, { name: 'on_auto', version: '' })).ready, true);
});

test.run();
