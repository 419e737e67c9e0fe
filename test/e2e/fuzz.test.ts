// Seeded hostile requests on every bundled model, unary and on one stream per model:
// every unary call ends with a status that is neither INTERNAL nor UNKNOWN and none
// hangs; the stream answers every message in-band and stays open; the server still
// answers correctly afterwards. FUZZ_REQUESTS sets the count per model and mode
// (default 10,000, the figure).

import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest, ModelInferResponse, ModelStreamInferResponse } from '../../src/generated/inference/grpc_service.js';
import { seededRandom } from '../../loadtest/open-loop.js';
import { encode, hostileRequest, rawInferClient, validRequests } from '../helpers/fuzz-requests.js';
import { readInt32 } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';

const COUNT = Number(process.env['FUZZ_REQUESTS'] ?? 10_000);
const CONCURRENCY = 32;
const DEADLINE_MS = 60_000;

const test = suite('fuzzed requests');
let server: TestServer;
let raw: ReturnType<typeof rawInferClient>;
const bases = validRequests();

test.before(async () => {
  server = await startServer();
  raw = rawInferClient(server.address);
});

test.after(async () => {
  raw?.close();
  assert.is(await server?.stop(), 0);
});

function unary(bytes: Buffer): Promise<{ code: number; details: string; response?: Buffer }> {
  return new Promise((resolve) => {
    raw.modelInfer(bytes, new grpc.Metadata(), { deadline: Date.now() + DEADLINE_MS }, (err, res) =>
      resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '', ...(res ? { response: res } : {}) }),
    );
  });
}

async function simpleStillAnswers(): Promise<void> {
  const r = await unary(encode(bases['simple']!));
  assert.is(r.code, status.OK, r.details);
  assert.equal(readInt32(ModelInferResponse.decode(r.response!).rawOutputContents[0]!), Array(16).fill(5));
}

for (const [model, base] of Object.entries(bases)) {
  test(`${COUNT} hostile unary requests on ${model} end with a status that is not INTERNAL or UNKNOWN, and none hangs`, async () => {
    const rnd = seededRandom(20261206 + model.length);
    const codes = new Map<number, number>();
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (sent < COUNT) {
        sent++;
        const r = await unary(hostileRequest(base, rnd));
        codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
        assert.ok(r.code !== status.INTERNAL && r.code !== status.UNKNOWN, `${model}: ${r.code} ${r.details}`);
        assert.is.not(r.code, status.DEADLINE_EXCEEDED, `${model}: a call hung: ${r.details}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const total = [...codes.values()].reduce((a, b) => a + b, 0);
    assert.is(total, COUNT);
    assert.ok((codes.get(status.INVALID_ARGUMENT) ?? 0) > COUNT / 10, JSON.stringify([...codes]));
    await simpleStillAnswers();
  });

  test(`${COUNT} hostile messages on one ModelStreamInfer stream to ${model} each get a response and the stream stays open`, async () => {
    const rnd = seededRandom(7 + model.length);
    const stream = raw.modelStreamInfer(new grpc.Metadata(), { deadline: Date.now() + 10 * DEADLINE_MS });
    let responses = 0;
    let errors = 0;
    const ended = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (b: Buffer) => {
        const msg = ModelStreamInferResponse.decode(b);
        if (msg.errorMessage) errors++;
        if (/internal error/i.test(msg.errorMessage)) reject(new Error(`${model}: ${msg.errorMessage}`));
        if (++responses === COUNT + 1) resolve();
      });
      stream.on('error', reject);
    });
    for (let i = 0; i < COUNT; i++) {
      if (!stream.write(hostileRequest(base, rnd))) await new Promise((r) => stream.once('drain', r));
    }
    // A good message after all that: the stream still answers it.
    stream.write(encode(ModelInferRequest.fromPartial({ ...bases['simple']!, id: 'after' })));
    await done;
    stream.end();
    const s = await ended;
    assert.is(s.code, status.OK, s.details);
    assert.ok(errors > COUNT / 10, `${errors} in-band errors`);
    await simpleStillAnswers();
  });
}

test.run();
