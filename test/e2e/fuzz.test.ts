// Seeded random malformed requests: every call ends with a status (no hang), none is
// INTERNAL, and the server still answers correctly afterwards.

import { status } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { seededRandom } from '../../loadtest/open-loop.js';
import { call, connect, int32Buffer, readInt32, type InferenceClient } from '../helpers/client.js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';

const test = suite('fuzzed requests');
let server: ServerProcess;
let client: InferenceClient;

test.before(async () => {
  server = await startServer();
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  assert.is(await server?.stop(), 0);
});

const models = ['simple', 'identity_fp32', 'identity_bytes', 'add_version', 'ocr_cls', 'nope'];
const datatypes = ['INT32', 'FP32', 'BYTES', 'INT64', 'FP16', 'BOOL', 'UINT8', 'BF16', '', 'int32'];
const names = ['INPUT0', 'INPUT1', 'x', 'OUTPUT0', '', 'INPUT0'];

test('300 random malformed requests each get a non-INTERNAL status and the server keeps serving', async () => {
  const rnd = seededRandom(20261124);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const codes = new Map<number, number>();
  const calls = Array.from({ length: 300 }, () => {
    const nInputs = Math.floor(rnd() * 3);
    const inputs = Array.from({ length: nInputs }, () => ({
      name: pick(names),
      datatype: pick(datatypes),
      shape: Array.from({ length: Math.floor(rnd() * 4) }, () => pick([0, 1, 2, 3, 4, 16, 192, -1, 2 ** 31, 7])),
    }));
    const raw = rnd() < 0.7 ? inputs.map(() => Buffer.from(Array.from({ length: pick([0, 3, 4, 16, 64, 128, 1000]) }, () => Math.floor(rnd() * 256)))) : [];
    const req = ModelInferRequest.fromPartial({
      modelName: pick(models),
      modelVersion: pick(['', '', '1', '2', '0', 'x', '99999999999999999999']),
      inputs: inputs.map((i) => (rnd() < 0.2 ? { ...i, contents: { intContents: [1, 2, 3], fp32Contents: rnd() < 0.5 ? [1] : [] } } : i)),
      outputs: rnd() < 0.2 ? [{ name: pick(['OUTPUT0', 'OUTPUT1', 'nope']) }] : [],
      rawInputContents: raw,
      parameters: rnd() < 0.1 ? { priority: { parameterChoice: { $case: 'int64Param', value: Math.floor(rnd() * 10) - 3 } } } : {},
    });
    return call(client, client.modelInfer, req, 20_000).then(
      () => codes.set(0, (codes.get(0) ?? 0) + 1),
      (e: { code: number; details: string }) => {
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        assert.is.not(e.code, status.INTERNAL, e.details);
        assert.is.not(e.code, status.DEADLINE_EXCEEDED, 'no call hangs');
      },
    );
  });
  await Promise.all(calls);
  assert.ok((codes.get(status.INVALID_ARGUMENT) ?? 0) > 100, JSON.stringify([...codes]));
  const ok = await call(client, client.modelInfer, ModelInferRequest.fromPartial({
    modelName: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
    ],
    rawInputContents: [int32Buffer(Array(16).fill(2)), int32Buffer(Array(16).fill(3))],
  }));
  assert.equal(readInt32(ok.rawOutputContents[0]!), Array(16).fill(5));
});

test.run();
