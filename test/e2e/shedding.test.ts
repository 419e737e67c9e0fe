// Overload shedding on the real server: a replica kept busy by the test fault sleep:<ms>,
// a request queued behind it, then arrivals while that request ages past --max-queue-wait.

import { status, type ServiceError } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { call, connect, simpleRequest, testFault, type InferenceClient } from '../helpers/client.js';
import { pendingOf } from '../helpers/pending.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';

const test = suite('overload shedding');
let server: TestServer;
let client: InferenceClient;
let repo: TempRepo;

const limitMs = 100;

test.before(async () => {
  // A model per test: each learns its batch time, and a 3 s batch is then allowed for.
  repo = new TempRepo().copyBundled('simple', 'shed').copyBundled('simple', 'shed_http').copyBundled('simple', 'never_shed');
  repo.write('shed/config.pbtxt', 'max_batch_size: 8\ndynamic_batching { }\n');
  repo.write('shed_http/config.pbtxt', 'max_batch_size: 8\ndynamic_batching { }\n');
  repo.write('never_shed/config.pbtxt', 'max_batch_size: 8\ndynamic_batching { }\nparameters { key: "max_queue_wait_us" value { string_value: "0" } }\n');
  server = await startServer([`--model-repository=${repo.root}`, `--max-queue-wait=${limitMs}`], 60_000, { TRITON_TS_TEST_FAULTS: '1' });
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  assert.is(await server?.stop(), 0);
  repo?.dispose();
});

const request = (model: string, fault?: string): ModelInferRequest => {
  const r = simpleRequest();
  r.modelName = model;
  if (fault) r.parameters = testFault(fault);
  return r;
};
/** 'ok', or "STATUS: details", with " (retry in N ms)" when the error carries gRPC's retry pushback. */
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: ServiceError) => {
      const pushback = e.metadata?.get('grpc-retry-pushback-ms')[0];
      return `${status[e.code]}: ${e.details}${pushback === undefined ? '' : ` (retry in ${pushback} ms)`}`;
    },
  );

/**
 * Occupies the model's one replica for `busyMs`, queues one request behind it, then sends a
 * request every 25 ms until one has been refused or `forMs` passes. Returns what each got:
 * `refusals` are the overload refusals, `queued` every other answer (each must be ok).
 */
async function overload(model: string, busyMs: number, forMs: number) {
  const busy = outcome(call(client, client.modelInfer, request(model, `sleep:${busyMs}`)));
  await pendingOf(server.metricsPort, model, 1);
  const sent: Promise<string>[] = [outcome(call(client, client.modelInfer, request(model)))];
  let refused = false;
  for (const started = Date.now(); !refused && Date.now() - started < forMs; ) {
    await new Promise((r) => setTimeout(r, 25));
    const p = outcome(call(client, client.modelInfer, request(model)));
    void p.then((o) => {
      if (o.includes('overloaded')) refused = true;
    });
    sent.push(p);
  }
  const all = await Promise.all(sent);
  return { busy: await busy, queued: all.filter((o) => !o.includes('overloaded')), refusals: all.filter((o) => o.includes('overloaded')) };
}

test('arrivals are refused with RESOURCE_EXHAUSTED at once while the queue has waited past the limit', async () => {
  const r = await overload('shed', 3000, 2500);
  assert.ok(r.refusals.length >= 1, 'a request was refused before the replica came back');
  assert.match(
    r.refusals[0]!,
    /^RESOURCE_EXHAUSTED: overloaded: \d+ request row\(s\) queued ahead, expected wait \d+ ms, the oldest waiting \d+ ms; past the 100 ms allowed.* \(retry in \d+ ms\)$/,
  );
  assert.equal(r.busy, 'ok');
  assert.equal(
    r.queued.filter((o) => o !== 'ok'),
    [],
    'every admitted request was answered',
  );
  // The backlog is gone: admission resumes.
  assert.is(await outcome(call(client, client.modelInfer, request('shed'))), 'ok');
});

test('HTTP clients get 429 with the same reason and a Retry-After', async () => {
  const busy = outcome(call(client, client.modelInfer, request('shed_http', 'sleep:3000')));
  const queued = outcome(call(client, client.modelInfer, request('shed_http')));
  const body = JSON.stringify({
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array(16).fill(1) },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array(16).fill(2) },
    ],
  });
  type Answer = { status: number; error: string; retryAfter: string | null };
  const sent: Promise<Answer>[] = [];
  let refused = false;
  for (const started = Date.now(); !refused && Date.now() - started < 2500; ) {
    await new Promise((r) => setTimeout(r, 25));
    const p = fetch(`http://127.0.0.1:${server.httpPort}/v2/models/shed_http/infer`, { method: 'POST', body }).then(async (res) => {
      const error = res.status === 200 ? '' : ((await res.json()) as { error: string }).error;
      const answer = { status: res.status, error, retryAfter: res.headers.get('retry-after') };
      if (answer.status !== 200) refused = true;
      return answer;
    });
    sent.push(p);
  }
  const answers = await Promise.all(sent);
  const refusals = answers.filter((a) => a.status !== 200);
  assert.ok(refusals.length >= 1, 'an HTTP request was refused');
  for (const a of refusals) {
    assert.is(a.status, 429);
    assert.match(a.error, /overloaded: \d+ request row\(s\) queued ahead/);
    assert.ok(Number(a.retryAfter) >= 1, `Retry-After: ${a.retryAfter}`);
  }
  assert.is(await busy, 'ok');
  assert.is(await queued, 'ok');
});

test('model parameter max_queue_wait_us "0" keeps Triton\'s unbounded queue', async () => {
  // The head waits about 600 ms, six times the server's limit; nobody is refused.
  const r = await overload('never_shed', 700, 600);
  assert.equal(r.refusals, []);
  assert.ok(r.queued.length >= 10, `${r.queued.length} requests queued`);
  assert.equal(
    r.queued.filter((o) => o !== 'ok'),
    [],
  );
});

test.run();
