// The load generator's pure parts: how load is shared between threads, the HTTP form of
// a request, and the CSV perf_analyzer's readers expect.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest } from '../../../src/generated/inference/grpc_service.js';
import { shareOf } from '../../../loadtest/load-generator.js';
import { csv } from '../../../loadtest/results-file.js';
import { payloadOf, type StepResult } from '../../../loadtest/session.js';

test('callers are shared evenly over threads, the first ones one more, none lost', () => {
  for (const [n, w] of [
    [64, 2],
    [7, 3],
    [1, 2],
    [0, 4],
  ] as const) {
    const shares = Array.from({ length: w }, (_, i) => shareOf(n, i, w));
    assert.is(
      shares.reduce((a, b) => a + b, 0),
      n,
    );
    assert.ok(Math.max(...shares) - Math.min(...shares) <= 1);
  }
  assert.equal(
    [0, 1, 2].map((i) => shareOf(7, i, 3)),
    [3, 2, 2],
  );
});

test('over HTTP a request is the binary tensor data extension: JSON header, then the raw inputs in order', () => {
  const req = ModelInferRequest.fromPartial({
    modelName: 'simple',
    modelVersion: '2',
    inputs: [
      { name: 'A', datatype: 'INT32', shape: [1n, 2n] },
      { name: 'B', datatype: 'INT32', shape: [1n, 1n] },
    ],
    rawInputContents: [Buffer.from([1, 0, 0, 0, 2, 0, 0, 0]), Buffer.from([3, 0, 0, 0])],
  });
  const p = payloadOf('http', req);
  assert.ok(p.protocol === 'http');
  if (p.protocol !== 'http') return;
  assert.is(p.path, '/v2/models/simple/versions/2/infer');
  const n = Number(p.headers['inference-header-content-length']);
  const head = JSON.parse(Buffer.from(p.body.subarray(0, n)).toString()) as {
    inputs: Array<{ name: string; parameters: { binary_data_size: number } }>;
    parameters: object;
  };
  assert.equal(
    head.inputs.map((i) => [i.name, i.parameters.binary_data_size]),
    [
      ['A', 8],
      ['B', 4],
    ],
  );
  assert.equal(head.parameters, { binary_data_output: true });
  assert.equal([...p.body.subarray(n)], [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
  const g = payloadOf('grpc', req);
  assert.ok(g.protocol === 'grpc' && ModelInferRequest.decode(g.bytes).inputs.length === 2);
});

test("CSV has perf_analyzer's column names, latencies in microseconds", () => {
  const r = {
    mode: 'concurrency',
    level: 4,
    throughput: 123.456,
    queueUs: 10.4,
    computeInputUs: 1,
    computeInferUs: 2,
    computeOutputUs: 3,
    p50Ms: 1.5,
    p90Ms: 2,
    p95Ms: 2.5,
    p99Ms: 3,
    meanMs: 1.75,
    errors: 1,
    dropped: 0,
    clientCores: 0.5,
  } as StepResult;
  const [header, row] = csv([r]).trim().split('\n');
  assert.ok(
    header!.startsWith(
      'Concurrency,Inferences/Second,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,p50 latency,p90 latency,p95 latency,p99 latency,Avg latency',
    ),
  );
  assert.is(row, '4,123.46,10,1,2,3,1500,2000,2500,3000,1750,1,0.50');
  assert.ok(csv([{ ...r, mode: 'rate' }]).startsWith('Request Rate,'));
});

test.run();
