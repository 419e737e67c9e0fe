// The execution module on real worker threads and a real ONNX model: buffers move
// across the thread boundary (the sender's copy is detached), replicas each hold a
// session, and load failures say why.

import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, type ServeError } from '../../src/errors.js';
import { ModelRunner } from '../../src/execution/model-runner.js';
import { cudaUnavailableReason } from '../../src/execution/providers.js';
import type { WireTensor } from '../../src/execution/protocol.js';
import { repoRoot } from '../helpers/server-process.js';

const simplePath = join(repoRoot, 'model-repo', 'simple', '1', 'model.onnx');
const options = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const, allowSpinning: false };

function inputs(k: number): WireTensor[] {
  return [
    { name: 'INPUT0', ortType: 'int32', shape: [1, 16], data: new Int32Array(16).fill(k).buffer },
    { name: 'INPUT1', ortType: 'int32', shape: [1, 16], data: new Int32Array(16).fill(1).buffer },
  ];
}

test('a run transfers its input buffers to the worker and gets outputs back', async () => {
  const runner = await ModelRunner.create({
    modelName: 'simple',
    modelPath: simplePath,
    replicas: [{ name: 'simple_0_0', kind: 'cpu', deviceId: -1 }],
    options,
  });
  try {
    assert.equal(
      runner.io.inputs.map((i) => [i.name, i.ortType, i.shape]),
      [
        ['INPUT0', 'int32', [-1, 16]],
        ['INPUT1', 'int32', [-1, 16]],
      ],
    );
    const ins = inputs(5);
    const res = await runner.run(0, ins, ['OUTPUT0', 'OUTPUT1']);
    assert.is(ins[0]!.data.byteLength, 0, 'the input buffer was moved, not copied');
    assert.is(ins[1]!.data.byteLength, 0);
    assert.equal([...new Int32Array(res.outputs[0]!.data)], Array(16).fill(6));
    assert.equal([...new Int32Array(res.outputs[1]!.data)], Array(16).fill(4));
    assert.equal(res.outputs[0]!.shape, [1, 16]);
    assert.ok(res.timings.computeInferNs > 0);
  } finally {
    await runner.close();
  }
});

test('each replica runs on its own thread with its own session', async () => {
  const runner = await ModelRunner.create({
    modelName: 'simple',
    modelPath: simplePath,
    replicas: [
      { name: 'r0', kind: 'cpu', deviceId: -1 },
      { name: 'r1', kind: 'cpu', deviceId: -1 },
    ],
    options,
  });
  try {
    assert.is(runner.replicaCount, 2);
    const results = await Promise.all([0, 1, 0, 1].map((r, k) => runner.run(r, inputs(k), ['OUTPUT0'])));
    results.forEach((res, k) => assert.equal([...new Int32Array(res.outputs[0]!.data)], Array(16).fill(k + 1)));
    const bad = await runner.run(7, inputs(0), ['OUTPUT0']).then(
      () => undefined,
      (e: ServeError) => e,
    );
    assert.is(bad?.code, Code.INTERNAL);
  } finally {
    await runner.close();
  }
});

test('close() lets queued runs finish, and later runs are UNAVAILABLE', async () => {
  const runner = await ModelRunner.create({ modelName: 'simple', modelPath: simplePath, replicas: [{ name: 'r', kind: 'cpu', deviceId: -1 }], options });
  const pending = Array.from({ length: 8 }, (_, k) => runner.run(0, inputs(k), ['OUTPUT0']));
  const closing = runner.close();
  const results = await Promise.all(pending);
  await closing;
  assert.is(results.length, 8);
  const after = await runner.run(0, inputs(0), ['OUTPUT0']).then(
    () => undefined,
    (e: ServeError) => e,
  );
  assert.is(after?.code, Code.UNAVAILABLE);
});

test('a KIND_GPU replica without the CUDA provider fails to load saying why and how to fix it', async () => {
  process.env['TRITON_TS_FORCE_NO_CUDA'] = '1';
  const err = await ModelRunner.create({ modelName: 'simple', modelPath: simplePath, replicas: [{ name: 'g', kind: 'gpu', deviceId: 0 }], options }).then(
    () => undefined,
    (e: ServeError) => e,
  );
  delete process.env['TRITON_TS_FORCE_NO_CUDA'];
  assert.is(err?.code, Code.UNAVAILABLE);
  assert.match(err!.message, /instance g is KIND_GPU \(GPU 0\), but CUDA disabled/);
  assert.match(cudaUnavailableReason() || 'cuda present', /ONNXRUNTIME_NODE_INSTALL=cuda12|cuda present/);
});

test('a KIND_AUTO replica with no usable GPU runs on the CPU and says so', async () => {
  process.env['TRITON_TS_FORCE_NO_CUDA'] = '1';
  const notes: string[] = [];
  const runner = await ModelRunner.create({
    modelName: 'simple',
    modelPath: simplePath,
    replicas: [{ name: 'a', kind: 'auto', deviceId: 0 }],
    options,
    onPlacement: (replica, device, note) => notes.push(`${replica} ${device} ${note}`),
  });
  delete process.env['TRITON_TS_FORCE_NO_CUDA'];
  try {
    assert.equal(runner.devices, ['cpu']);
    assert.match(notes[0]!, /^a cpu KIND_AUTO runs on the CPU: CUDA disabled/);
    const res = await runner.run(0, inputs(1), ['OUTPUT0']);
    assert.equal([...new Int32Array(res.outputs[0]!.data)], Array(16).fill(2));
  } finally {
    await runner.close();
  }
});

test('a worker that dies mid-batch fails only that batch; a new worker serves the next one', async () => {
  process.env['TRITON_TS_TEST_FAULTS'] = '1';
  const runner = await ModelRunner.create({ modelName: 'simple', modelPath: simplePath, replicas: [{ name: 'r', kind: 'cpu', deviceId: -1 }], options });
  try {
    for (const fault of ['exit', 'throw']) {
      const err = await runner.run(0, inputs(0), ['OUTPUT0'], fault).then(
        () => undefined,
        (e: ServeError) => e,
      );
      assert.is(err?.code, Code.INTERNAL, fault);
      assert.match(
        err!.message,
        fault === 'exit' ? /replica r's worker thread died while running this batch \(worker exited with code: 3\)/ : /injected uncaught error/,
      );
      const res = await runner.run(0, inputs(4), ['OUTPUT0']);
      assert.equal([...new Int32Array(res.outputs[0]!.data)], Array(16).fill(5), `served after ${fault}`);
    }
    runner.failNext(0, 2);
    const failures = await Promise.all(
      [0, 1, 2].map((k) =>
        runner.run(0, inputs(k), ['OUTPUT0']).then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      ),
    );
    assert.equal(
      failures.map((f) => (f === 'ok' ? 'ok' : /injected failure/.test(f) ? 'failed' : f)),
      ['failed', 'failed', 'ok'],
    );
  } finally {
    await runner.close();
    delete process.env['TRITON_TS_TEST_FAULTS'];
  }
});

test('a worker over its JS heap limit is replaced', async () => {
  process.env['TRITON_TS_TEST_FAULTS'] = '1';
  const runner = await ModelRunner.create({
    modelName: 'simple',
    modelPath: simplePath,
    replicas: [{ name: 'small', kind: 'cpu', deviceId: -1 }],
    options,
    workerMaxOldGenerationMb: 32,
  });
  try {
    const err = await runner.run(0, inputs(0), ['OUTPUT0'], 'oom').then(
      () => undefined,
      (e: ServeError) => e,
    );
    assert.is(err?.code, Code.INTERNAL);
    assert.match(err!.message, /replica small's worker thread died while running this batch/);
    const res = await runner.run(0, inputs(1), ['OUTPUT0']);
    assert.equal([...new Int32Array(res.outputs[0]!.data)], Array(16).fill(2));
  } finally {
    await runner.close();
    delete process.env['TRITON_TS_TEST_FAULTS'];
  }
});

test('a model file that is not ONNX fails to load with the ORT error', async () => {
  const err = await ModelRunner.create({
    modelName: 'simple',
    modelPath: join(repoRoot, 'README.md'),
    replicas: [{ name: 'x', kind: 'cpu', deviceId: -1 }],
    options,
  }).then(
    () => undefined,
    (e: ServeError) => e,
  );
  assert.is(err?.code, Code.UNAVAILABLE);
  assert.match(err!.message, /Protobuf parsing failed|failed/);
});

test.run();
