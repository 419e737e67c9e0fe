// A reload while requests wait at the frontend's in-flight gate (--max-inflight-requests):
// they were let in before the old version began to drain, and it serves them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { call, connect, simpleRequest, type InferenceClient } from '../helpers/client.js';
import { pendingOf } from '../helpers/pending.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';

const test = suite('drain with requests at the gate');
let server: TestServer;
let client: InferenceClient;
let repo: TempRepo;

test.before(async () => {
  repo = new TempRepo().copyBundled('simple');
  server = await startServer([`--model-repository=${repo.root}`, '--model-control-mode=explicit', '--load-model=simple', '--max-inflight-requests=1'], 60_000, {
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
  slow.parameters = { test_fault: { parameterChoice: { $case: 'stringParam', value: 'sleep:1500' } } };
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

test.run();
