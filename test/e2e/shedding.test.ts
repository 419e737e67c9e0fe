// Overload shedding on the real server: a replica kept busy by the test fault sleep:<ms>,
// a request queued behind it, then arrivals while that request ages past --max-queue-wait.

import { status, type ServiceError } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { call, connect, simpleRequest, type InferenceClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';

const test = suite('overload shedding');
let server: TestServer;
let client: InferenceClient;
let repo: TempRepo;

const limitMs = 100;

test.before(async () => {
  repo = new TempRepo().copyBundled('simple', 'shed').copyBundled('simple', 'never_shed');
  repo.write('shed/config.pbtxt', 'max_batch_size: 8\ndynamic_batching { }\n');
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
  if (fault) r.parameters = { test_fault: { parameterChoice: { $case: 'stringParam', value: fault } } };
  return r;
};
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: ServiceError) => `${status[e.code]}: ${e.details}`,
  );

/**
 * Occupies the model's one replica for `busyMs`, queues one request behind it, then sends a
 * request every 25 ms until one is refused or `forMs` passes. Returns what each got.
 */
async function overload(model: string, busyMs: number, forMs: number) {
  const busy = outcome(call(client, client.modelInfer, request(model, `sleep:${busyMs}`)));
  const queued = [outcome(call(client, client.modelInfer, request(model)))];
  const refusals: string[] = [];
  const started = Date.now();
  while (refusals.length === 0 && Date.now() - started < forMs) {
    await new Promise((r) => setTimeout(r, 25));
    const t0 = Date.now();
    const p = outcome(call(client, client.modelInfer, request(model)));
    // A refusal comes back at once; an admitted call is still waiting after 20 ms.
    const first = await Promise.race([p, new Promise<string>((r) => setTimeout(() => r('waiting'), 20))]);
    if (first === 'waiting') queued.push(p);
    else refusals.push(`${first} (in ${Date.now() - t0} ms)`);
  }
  return { busy: await busy, queued: await Promise.all(queued), refusals };
}

test('arrivals are refused with RESOURCE_EXHAUSTED at once while the queue has waited past the limit', async () => {
  const r = await overload('shed', 3000, 2500);
  assert.is(r.refusals.length, 1, 'a request was refused before the replica came back');
  assert.match(
    r.refusals[0]!,
    /^RESOURCE_EXHAUSTED: overloaded: \d+ request row\(s\) queued ahead, expected wait \d+ ms, the oldest waiting \d+ ms; past the 100 ms allowed/,
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

test('HTTP clients get 429 with the same reason', async () => {
  const busy = outcome(call(client, client.modelInfer, request('shed', 'sleep:3000')));
  const queued = outcome(call(client, client.modelInfer, request('shed')));
  const body = JSON.stringify({
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array(16).fill(1) },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array(16).fill(2) },
    ],
  });
  let res: Response | undefined;
  const later: Promise<Response>[] = [];
  for (const started = Date.now(); Date.now() - started < 2500; ) {
    await new Promise((r) => setTimeout(r, 25));
    const p = fetch(`http://127.0.0.1:${server.httpPort}/v2/models/shed/infer`, { method: 'POST', body });
    const first = await Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20))]);
    if (first) {
      res = first;
      break;
    }
    later.push(p);
  }
  assert.ok(res, 'an HTTP request was refused');
  assert.is(res.status, 429);
  assert.match(((await res.json()) as { error: string }).error, /overloaded: \d+ request row\(s\) queued ahead/);
  assert.is(await busy, 'ok');
  assert.is(await queued, 'ok');
  for (const p of later) assert.is((await p).status, 200);
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
