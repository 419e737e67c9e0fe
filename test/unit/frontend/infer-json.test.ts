// Answers written as JSON are bounded: outputs a model makes larger than the request (a
// binary input with JSON outputs, say) cannot make the server print unbounded JSON.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModelInferResponse } from '../../../src/generated/inference/grpc_service.js';
import { parseInferBody } from '../../../src/frontend/http/infer-json.js';
import { inferResponseBody } from '../../../src/frontend/http/infer-answer.js';

const response = (elements: number): ModelInferResponse => ({
  modelName: 'm',
  modelVersion: '1',
  id: '',
  parameters: {},
  outputs: [{ name: 'OUT', datatype: 'UINT8', shape: [1n, BigInt(elements)], parameters: {}, contents: undefined }],
  rawOutputContents: [Buffer.alloc(elements)],
});
const none = { all: false, names: new Set<string>(), listed: new Set<string>(), shm: new Set<string>() };

test('JSON outputs within the element bound are written', () => {
  const out = inferResponseBody(response(100), none, { maxElements: 100, maxJsonBytes: 1 << 20 });
  assert.is(out.headerLength, undefined);
  assert.is((JSON.parse(out.body.toString()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data.length, 100);
});

test('JSON outputs past the bound are refused before any JSON is built, naming the way out', () => {
  assert.throws(
    () => inferResponseBody(response(101), none, { maxElements: 100, maxJsonBytes: 1 << 20 }),
    /more than 100 elements to write as JSON \(--max-request-elements\); ask for them as binary data/,
  );
});

test('the same outputs as binary data are not bounded by it', () => {
  const out = inferResponseBody(response(1000), { ...none, all: true }, { maxElements: 100, maxJsonBytes: 1024 });
  assert.is(out.body.length - out.headerLength!, 1000);
});

const bytesResponse = (element: Buffer): ModelInferResponse => {
  const raw = Buffer.alloc(4 + element.length);
  raw.writeUInt32LE(element.length, 0);
  element.copy(raw, 4);
  return {
    modelName: 'm',
    modelVersion: '1',
    id: '',
    parameters: {},
    outputs: [{ name: 'OUT', datatype: 'BYTES', shape: [1n, 1n], parameters: {}, contents: undefined }],
    rawOutputContents: [raw],
  };
};

test('a BYTES output of control characters (six JSON bytes each) past --http-max-json-answer-size is refused before it is escaped', () => {
  const limits = { maxElements: 100, maxJsonBytes: 64 * 1024 };
  assert.throws(() => inferResponseBody(bytesResponse(Buffer.alloc(20 * 1024, 1)), none, limits), /would pass 65536 bytes \(--http-max-json-answer-size\)/);
  const ascii = inferResponseBody(bytesResponse(Buffer.alloc(20 * 1024, 0x61)), none, limits);
  assert.is(
    (JSON.parse(ascii.body.toString()) as { outputs: Array<{ data: string[] }> }).outputs[0]!.data[0]!.length,
    20 * 1024,
    'the same size of plain text fits',
  );
  assert.throws(() => inferResponseBody(bytesResponse(Buffer.alloc(70 * 1024, 0x61)), none, limits), /--http-max-json-answer-size/);
});

test('numbers past the JSON byte bound are refused too, the outputs as binary data are not counted', () => {
  assert.throws(() => inferResponseBody(response(200_000), none, { maxElements: 1e9, maxJsonBytes: 100_000 }), /--http-max-json-answer-size/);
  const ok = inferResponseBody(response(200_000), { ...none, all: true }, { maxElements: 1e9, maxJsonBytes: 1024 });
  assert.is(ok.body.length - ok.headerLength!, 200_000);
  const within = inferResponseBody(response(200_000), none, { maxElements: 1e9, maxJsonBytes: 1 << 20 });
  assert.is((JSON.parse(within.body.toString()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data.length, 200_000, 'written across chunks, whole');
});

test('names and parameter keys longer than 1024 characters are refused before they reach a message', () => {
  const limits = { maxInputs: 16, maxOutputs: 16, maxParameters: 16, maxShapeRank: 8, maxElements: 1000, maxBytesElements: 1000 };
  const long = 'N'.repeat(1025);
  const body = (o: unknown) => Buffer.from(JSON.stringify(o));
  const input = { name: 'A', datatype: 'INT32', shape: [1], data: [1] };
  for (const o of [
    { inputs: [{ ...input, name: long }] },
    { inputs: [{ ...input, datatype: long }] },
    { inputs: [input], outputs: [{ name: long }] },
    { inputs: [input], parameters: { [long]: 1 } },
  ]) {
    let message = '';
    try {
      parseInferBody(body(o), undefined, 'm', '', limits);
    } catch (err) {
      message = (err as Error).message;
    }
    assert.match(message, /longer than 1024 characters/);
    assert.ok(message.length < 300, 'the name is not echoed');
  }
});

test.run();
