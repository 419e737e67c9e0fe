// Dynamic batching against the real server: requests queued behind a busy replica are
// batched, priority levels are served in order, deadlines, queue timeouts and
// cancellation keep requests from running, and a full queue answers at once.
// A "spin" model holds the replica busy for a while chosen by the request (SPIN rounds).

import type * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest, type ModelInferResponse, type ModelStatistics } from '../../src/generated/inference/grpc_service.js';
import { spinModel } from '../../scripts/onnx-builder.js';
import { call, callError, connect, float32Buffer, readFloat32, type InferenceClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';

const test = suite('dynamic batching');
let server: TestServer;
let client: InferenceClient;
let repo: TempRepo;

/** Rounds that keep the replica busy for a few hundred milliseconds. */
const BLOCK = 800_000;

test.before(async () => {
  const model = spinModel();
  repo = new TempRepo()
    .write('spin/1/model.onnx', model)
    .write(
      'spin/config.pbtxt',
      `max_batch_size: 8
       dynamic_batching {
         priority_levels: 2
         default_priority_level: 2
         default_queue_policy { allow_timeout_override: true }
       }`,
    )
    .write('spin_small_queue/1/model.onnx', model)
    .write('spin_small_queue/config.pbtxt', 'max_batch_size: 8\ndynamic_batching { default_queue_policy { max_queue_size: 2 } }')
    .write('spin_target/1/model.onnx', model)
    .write('spin_target/config.pbtxt', 'max_batch_size: 8\ndynamic_batching { }\nparameters { key: "latency_target_us" value: { string_value: "200000" } }\n')
    .write('spin_padded/1/model.onnx', model)
    .write('spin_padded/config.pbtxt', 'max_batch_size: 8\ndynamic_batching { }\nparameters { key: "pad_batches" value: { string_value: "true" } }\n')
    .write('spin_unbatched/1/model.onnx', model)
    .write('spin_unbatched/config.pbtxt', 'max_batch_size: 8\n');
  server = await startServer([`--model-repository=${repo.root}`]);
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  assert.is(await server?.stop(), 0);
  repo?.dispose();
});

function spin(model: string, rounds: number, rows = 1, extra: Partial<ModelInferRequest> = {}): ModelInferRequest {
  const spinRaw = Buffer.from(new BigInt64Array(rows).fill(BigInt(rounds)).buffer);
  return ModelInferRequest.fromPartial({
    modelName: model,
    inputs: [
      { name: 'SPIN', datatype: 'INT64', shape: [BigInt(rows), 1n] },
      { name: 'INPUT0', datatype: 'FP32', shape: [BigInt(rows), 4n] },
    ],
    rawInputContents: [spinRaw, float32Buffer(new Array(rows * 4).fill(rounds))],
    ...extra,
  });
}

const priority = (p: number) => ({ priority: { parameterChoice: { $case: 'int64Param' as const, value: BigInt(p) } } });

async function stats(model: string): Promise<ModelStatistics> {
  return (await call(client, client.modelStatistics, { name: model, version: '1' })).modelStats[0]!;
}

/** The server has read every call sent before this one (one connection keeps order). */
async function barrier(): Promise<void> {
  await call(client, client.serverLive, {});
}

test('requests queued behind a busy replica run as batches: executions < inferences', async () => {
  const before = await stats('spin');
  const blocker = call(client, client.modelInfer, spin('spin', BLOCK));
  await barrier();
  const small = Array.from({ length: 16 }, (_, k) => call(client, client.modelInfer, spin('spin', 1, 1, { id: `r${k}` })));
  const results = await Promise.all(small);
  await blocker;
  results.forEach((r, k) => assert.is(r.id, `r${k}`));
  const after = await stats('spin');
  const inferences = Number(after.inferenceCount - before.inferenceCount);
  const executions = Number(after.executionCount - before.executionCount);
  assert.is(inferences, 17);
  assert.ok(executions <= 4, `17 requests ran in ${executions} executions`);
  assert.ok(
    after.batchStats.some((b) => b.batchSize === 8n),
    'full batches of 8 were formed',
  );
});

test('padded batches (pad_batches): each caller gets exactly its own rows back, and statistics count real rows', async () => {
  const before = await stats('spin_padded');
  const blocker = call(client, client.modelInfer, spin('spin_padded', BLOCK));
  await barrier();
  // 1 + 2 rows run together once the blocker is done: a batch of 3 rows, padded to 4.
  const withValues = (rows: number, base: number): ModelInferRequest => {
    const r = spin('spin_padded', 1, rows);
    r.rawInputContents[1] = float32Buffer(Array.from({ length: rows * 4 }, (_, i) => base + i));
    return r;
  };
  const [one, two] = await Promise.all([call(client, client.modelInfer, withValues(1, 100)), call(client, client.modelInfer, withValues(2, 200))]);
  await blocker;
  assert.equal(one.outputs[0]!.shape, [1n, 4n]);
  assert.equal(readFloat32(one.rawOutputContents[0]!), [100, 101, 102, 103]);
  assert.equal(two.outputs[0]!.shape, [2n, 4n]);
  assert.equal(readFloat32(two.rawOutputContents[0]!), [200, 201, 202, 203, 204, 205, 206, 207]);
  // A single request of 5 rows alone: padded to 8, answered with its 5.
  const five = await call(client, client.modelInfer, withValues(5, 500));
  assert.equal(five.outputs[0]!.shape, [5n, 4n]);
  assert.equal(
    readFloat32(five.rawOutputContents[0]!),
    Array.from({ length: 20 }, (_, i) => 500 + i),
  );
  const after = await stats('spin_padded');
  assert.is(after.inferenceCount - before.inferenceCount, 1n + 1n + 2n + 5n);
  const sizes = after.batchStats.map((b) => Number(b.batchSize));
  assert.ok(sizes.includes(3) && sizes.includes(5), `batch sizes are the callers' rows, not the padded ones: ${sizes.join(', ')}`);
  assert.not.ok(sizes.includes(4) || sizes.includes(8), `no padded size is reported: ${sizes.join(', ')}`);
});

test('without dynamic_batching each request runs alone', async () => {
  const before = await stats('spin_unbatched');
  const blocker = call(client, client.modelInfer, spin('spin_unbatched', BLOCK / 4));
  await barrier();
  await Promise.all(Array.from({ length: 6 }, () => call(client, client.modelInfer, spin('spin_unbatched', 1))));
  await blocker;
  const after = await stats('spin_unbatched');
  assert.is(after.executionCount - before.executionCount, 7n);
  assert.is(after.inferenceCount - before.inferenceCount, 7n);
});

test('a higher priority level is served first; FIFO within a level', async () => {
  const order: string[] = [];
  const send = (id: string, p: number) =>
    call(client, client.modelInfer, spin('spin', 1, 8, { id, parameters: priority(p) })).then((r: ModelInferResponse) => order.push(r.id));
  const blocker = call(client, client.modelInfer, spin('spin', BLOCK, 1, { parameters: priority(1) }));
  await barrier();
  const all = [send('low-1', 2), send('low-2', 0), send('high-1', 1), send('low-3', 2), send('high-2', 1)];
  await barrier();
  await Promise.all([blocker, ...all]);
  assert.equal(order, ['high-1', 'high-2', 'low-1', 'low-2', 'low-3']);
});

test('a request whose deadline passes in the queue is DEADLINE_EXCEEDED and never runs', async () => {
  const before = await stats('spin');
  const blocker = call(client, client.modelInfer, spin('spin', BLOCK));
  await barrier();
  const err = await call(client, client.modelInfer, spin('spin', 1, 3), 50).then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  assert.is(err?.code, status.DEADLINE_EXCEEDED);
  await blocker;
  const after = await stats('spin');
  assert.is(after.inferenceCount - before.inferenceCount, 1n, 'only the blocker ran');
});

test('a queue timeout from the request parameter answers DEADLINE_EXCEEDED from the server', async () => {
  const before = await stats('spin');
  const blocker = call(client, client.modelInfer, spin('spin', BLOCK));
  await barrier();
  const timeout = { timeout: { parameterChoice: { $case: 'int64Param' as const, value: 20_000n } } };
  const err = await callError(client, client.modelInfer, spin('spin', 1, 2, { parameters: timeout }));
  assert.is(err.code, status.DEADLINE_EXCEEDED);
  assert.match(err.details, /timed out after \d+ µs in the queue \(queue policy timeout\); not executed/);
  await blocker;
  const after = await stats('spin');
  assert.is(after.inferenceCount - before.inferenceCount, 1n);
});

test('a cancelled call is taken out of the queue and never runs', async () => {
  const before = await stats('spin');
  const blocker = call(client, client.modelInfer, spin('spin', BLOCK));
  await barrier();
  const cancelled = new Promise<grpc.ServiceError>((resolve) => {
    const c = client.modelInfer(spin('spin', 1, 5), (err) => resolve(err!));
    void barrier().then(() => c.cancel());
  });
  assert.is((await cancelled).code, status.CANCELLED);
  await barrier();
  await blocker;
  const after = await stats('spin');
  assert.is(after.inferenceCount - before.inferenceCount, 1n, 'the 5 cancelled rows never ran');
});

test('a full queue answers RESOURCE_EXHAUSTED at once; the queued requests still run', async () => {
  const blocker = call(client, client.modelInfer, spin('spin_small_queue', BLOCK));
  await barrier();
  const queued = [call(client, client.modelInfer, spin('spin_small_queue', 1)), call(client, client.modelInfer, spin('spin_small_queue', 1))];
  await barrier();
  const err = await callError(client, client.modelInfer, spin('spin_small_queue', 1));
  assert.is(err.code, status.RESOURCE_EXHAUSTED);
  assert.match(err.details, /queue of priority level 1 is full \(max_queue_size 2\)/);
  await Promise.all([blocker, ...queued]);
});

test('a model with latency_target_us batches under load and answers every request', async () => {
  const before = await stats('spin_target');
  const results = await Promise.all(Array.from({ length: 40 }, (_, k) => call(client, client.modelInfer, spin('spin_target', 2000, 1, { id: `t${k}` }))));
  results.forEach((r, k) => assert.is(r.id, `t${k}`));
  const after = await stats('spin_target');
  assert.is(after.inferenceCount - before.inferenceCount, 40n);
  assert.ok(after.executionCount - before.executionCount < 40n, 'requests were batched');
});

test('a bad priority parameter is INVALID_ARGUMENT', async () => {
  const bad = { priority: { parameterChoice: { $case: 'stringParam' as const, value: 'high' } } };
  const err = await callError(client, client.modelInfer, spin('spin', 1, 1, { parameters: bad }));
  assert.is(err.code, status.INVALID_ARGUMENT);
  assert.match(err.details, /model 'spin': parameter 'priority' must be int64_param or uint64_param, got string_param/);
});

test.run();
