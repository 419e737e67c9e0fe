// The load generator against the real server: gRPC and HTTP, two load threads, closed and
// open loop; what it counts agrees with the server's statistics.

import { readdirSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LoadSession } from '../../loadtest/session.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { call, connect } from '../helpers/client.js';

const test = suite('the load generator');
let server: TestServer;

test.before(async () => {
  server = await startServer(['--model-control-mode=explicit', '--load-model=simple', '--allow-client-shm=true']);
});

test.after(async () => {
  await server?.stop();
});

for (const protocol of ['grpc', 'http'] as const) {
  test(`over ${protocol} with two threads: every request is answered and counted by the server`, async () => {
    const url = protocol === 'grpc' ? server.address : `127.0.0.1:${server.httpPort}`;
    const s = await new LoadSession(url, 'simple', '', { protocol, workers: 2, connections: 2 }).init({ batchSize: 1, shapes: {}, data: 'random' });
    try {
      await s.warmUp(4);
      const closed = await s.measure({ mode: 'concurrency', level: 4 }, 60_000, 200);
      assert.is(closed.errors, 0, closed.firstError);
      assert.is(closed.requests, 200, 'the request cap is shared between the threads, none lost');
      assert.ok(closed.throughput > 0);
      assert.ok(closed.clientCores >= 0 && closed.cores >= 1);
      assert.ok(Number.isFinite(closed.queueUs), 'the server statistics were read around the step');
      const open = await s.measure({ mode: 'rate', level: 200 }, 500, 1_000_000, 7);
      assert.is(open.errors, 0, open.firstError);
      assert.ok(open.requests > 20 && open.requests < 200, `about 100 arrivals in 0.5 s at 200/s: ${open.requests}`);
    } finally {
      await s.close();
    }
  });
}

test('--shared-memory system: the load runs through regions it registers, and removes them and their objects after', async () => {
  for (const protocol of ['grpc', 'http'] as const) {
    const url = protocol === 'grpc' ? server.address : `127.0.0.1:${server.httpPort}`;
    const s = await new LoadSession(url, 'simple', '', { protocol, sharedMemory: 'system', outputSharedMemorySize: 64 }).init({
      batchSize: 1,
      shapes: {},
      data: 'random',
    });
    const objects = readdirSync('/dev/shm').filter((f) => f.startsWith(`tts_loadtest_${process.pid}_`));
    try {
      assert.is(objects.length, 2, `${protocol}: an input and an output object`);
      assert.is(s.request.rawInputContents.length, 0, 'no tensor bytes in the message');
      const r = await s.measure({ mode: 'concurrency', level: 2 }, 60_000, 50);
      assert.is(r.errors, 0, r.firstError);
      assert.is(r.requests, 50);
    } finally {
      await s.close();
    }
    assert.equal(
      readdirSync('/dev/shm').filter((f) => objects.includes(f)),
      [],
      'objects removed',
    );
    const c = connect(server.address);
    try {
      assert.equal((await call(c, c.systemSharedMemoryStatus, { name: '' })).regions, {}, 'regions unregistered');
    } finally {
      c.close();
    }
  }
});

test('a refused request is counted as an error with its status, not a success', async () => {
  const s = await new LoadSession(`127.0.0.1:${server.httpPort}`, 'simple', '', { protocol: 'http', workers: 1, connections: 1 }).init({
    batchSize: 9,
    shapes: {},
    data: 'random',
  });
  try {
    const r = await s.measure({ mode: 'concurrency', level: 1 }, 60_000, 3);
    assert.is(r.errors, 3);
    assert.match(r.firstError, /HTTP 400: .*batch size 9/);
  } finally {
    await s.close();
  }
});

test.run();
