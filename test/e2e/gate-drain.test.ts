// The frontend's in-flight gate (--max-inflight-requests, one slot here): a reload while a
// request waits at it (it was let in before the old version began to drain, and that
// version serves it), and a request to another model that would wait behind a stalled one.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ServiceError, status } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { call, connect, simpleRequest, testFault, type InferenceClient } from '../helpers/client.js';
import { pendingOf } from '../helpers/pending.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';

const test = suite('the in-flight gate');
let server: TestServer;
let client: InferenceClient;
let repo: TempRepo;

test.before(async () => {
  // `simple` waits at the gate for as long as it takes; `other` at most --max-queue-wait.
  repo = new TempRepo().copyBundled('simple').copyBundled('simple', 'other');
  repo.write('simple/config.pbtxt', 'max_batch_size: 8\nparameters { key: "max_queue_wait_us" value { string_value: "0" } }\n');
  const args = ['--model-control-mode=explicit', '--load-model=simple', '--load-model=other', '--max-inflight-requests=1', '--max-queue-wait=200'];
  server = await startServer([`--model-repository=${repo.root}`, ...args], 60_000, {
    TRITON_TS_TEST_FAULTS: '1',
  });
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  assert.is(await server?.stop(), 0);
  repo?.dispose();
});

test('a request waiting at the gate during a reload is served, not refused as unloading', async () => {
  const slow = simpleRequest();
  slow.parameters = testFault('sleep:1500');
  const holding = call(client, client.modelInfer, slow); // takes the one in-flight slot for 1.5 s
  await pendingOf(server.metricsPort, 'simple', 1);
  const waiting = call(client, client.modelInfer, simpleRequest()); // waits at the gate
  repo.write('simple/config.pbtxt', `${readFileSync(join(repo.root, 'simple', 'config.pbtxt'), 'utf8')}\n# changed: reload\n`);
  const reload = fetch(`http://127.0.0.1:${server.httpPort}/v2/repository/models/simple/load`, { method: 'POST' });
  const [a, b, r] = await Promise.allSettled([holding, waiting, reload]);
  assert.is(a.status, 'fulfilled', 'the slow request');
  assert.is(b.status, 'fulfilled', `the request at the gate: ${b.status === 'rejected' ? (b.reason as Error).message : ''}`);
  assert.is(r.status === 'fulfilled' && r.value.status, 200);
});

test("a request does not wait at the gate past its model's queue wait limit behind another model", async () => {
  const slow = simpleRequest();
  slow.parameters = testFault('sleep:1500');
  const holding = call(client, client.modelInfer, slow);
  await pendingOf(server.metricsPort, 'simple', 1);
  const other = simpleRequest();
  other.modelName = 'other';
  const err = await call(client, client.modelInfer, other).then(
    () => undefined,
    (e: ServiceError) => e,
  );
  assert.ok(err, 'refused while the slot was held');
  assert.is(err.code, status.RESOURCE_EXHAUSTED);
  assert.match(err.details, /^overloaded: waited 200 ms for one of the server's 1 in-flight slots \(--max-inflight-requests\)/);
  await holding; // the slow request itself is unaffected
});

test('a request waiting at the gate is answered before its deadline, so its client need not cancel', async () => {
  const slow = simpleRequest();
  slow.parameters = testFault('sleep:1500');
  const holding = call(client, client.modelInfer, slow);
  await pendingOf(server.metricsPort, 'simple', 1);
  // `simple` has no wait limit: only the deadline ends the wait (the server answers 10 ms early).
  const err = await call(client, client.modelInfer, simpleRequest(), 400).then(
    () => undefined,
    (e: ServiceError) => e,
  );
  assert.ok(err, 'not served while the slot was held');
  assert.is(err.code, status.DEADLINE_EXCEEDED);
  assert.match(err.details, /^its deadline is about to pass after \d+ ms waiting for an in-flight slot/);
  await holding;
});

test.run();
