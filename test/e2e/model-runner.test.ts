// The execution module on real worker threads and a real ONNX model: buffers move
// across the thread boundary (the sender's copy is detached), replicas each hold a
// session, and load failures say why.

import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, ServeError } from '../../src/errors.js';
import { ModelRunner } from '../../src/execution/model-runner.js';
import type { WireTensor } from '../../src/execution/protocol.js';
import { repoRoot } from '../helpers/server-process.js';

const simplePath = join(repoRoot, 'model-repo', 'simple', '1', 'model.onnx');
const options = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };

function inputs(k: number): WireTensor[] {
  return [
    { name: 'INPUT0', ortType: 'int32', shape: [1, 16], data: new Int32Array(16).fill(k).buffer },
    { name: 'INPUT1', ortType: 'int32', shape: [1, 16], data: new Int32Array(16).fill(1).buffer },
  ];
}

test('a run transfers its input buffers to the worker and gets outputs back', async () => {
  const runner = await ModelRunner.create({ modelName: 'simple', modelPath: simplePath, replicas: [{ name: 'simple_0_0', kind: 'cpu', deviceId: -1 }], options });
  try {
    assert.equal(runner.io.inputs.map((i) => [i.name, i.ortType, i.shape]), [
      ['INPUT0', 'int32', [-1, 16]],
      ['INPUT1', 'int32', [-1, 16]],
    ]);
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
    const bad = await runner.run(7, inputs(0), ['OUTPUT0']).then(() => undefined, (e: ServeError) => e);
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
  const after = await runner.run(0, inputs(0), ['OUTPUT0']).then(() => undefined, (e: ServeError) => e);
  assert.is(after?.code, Code.UNAVAILABLE);
});

test('a GPU replica fails to load saying GPU instances are not implemented', async () => {
  const err = await ModelRunner.create({ modelName: 'simple', modelPath: simplePath, replicas: [{ name: 'g', kind: 'gpu', deviceId: 0 }], options }).then(
    () => undefined,
    (e: ServeError) => e,
  );
  assert.is(err?.code, Code.UNAVAILABLE);
  assert.match(err!.message, /instance g asks for GPU 0, but GPU instances \(CUDA execution provider\) are not implemented yet/);
});

test('a model file that is not ONNX fails to load with the ORT error', async () => {
  const err = await ModelRunner.create({ modelName: 'simple', modelPath: join(repoRoot, 'README.md'), replicas: [{ name: 'x', kind: 'cpu', deviceId: -1 }], options }).then(
    () => undefined,
    (e: ServeError) => e,
  );
  assert.is(err?.code, Code.UNAVAILABLE);
  assert.match(err!.message, /Protobuf parsing failed|failed/);
});

test.run();
