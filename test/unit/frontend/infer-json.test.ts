// Answers written as JSON are bounded: outputs a model makes larger than the request (a
// binary input with JSON outputs, say) cannot make the server print unbounded JSON.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModelInferResponse } from '../../../src/generated/inference/grpc_service.js';
import { inferResponseBody } from '../../../src/frontend/http/infer-json.js';

const response = (elements: number): ModelInferResponse => ({
  modelName: 'm',
  modelVersion: '1',
  id: '',
  parameters: {},
  outputs: [{ name: 'OUT', datatype: 'UINT8', shape: [1n, BigInt(elements)], parameters: {}, contents: undefined }],
  rawOutputContents: [Buffer.alloc(elements)],
});
const none = { all: false, names: new Set<string>(), listed: new Set<string>() };

test('JSON outputs within the element bound are written', () => {
  const out = inferResponseBody(response(100), none, 100);
  assert.is(out.headerLength, undefined);
  assert.is((JSON.parse(out.body.toString()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data.length, 100);
});

test('JSON outputs past the bound are refused before any JSON is built, naming the way out', () => {
  assert.throws(
    () => inferResponseBody(response(101), none, 100),
    /more than 100 elements to write as JSON \(--max-request-elements\); ask for them as binary data/,
  );
});

test('the same outputs as binary data are not bounded by it', () => {
  const out = inferResponseBody(response(1000), { ...none, all: true }, 100);
  assert.is(out.body.length - out.headerLength!, 1000);
});

test.run();
