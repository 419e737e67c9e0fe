// --grpc-max-connection-age, through a TCP proxy that counts connections: a client that
// calls without pause is moved to a new connection again and again (so after a scale-up it
// reaches the new pods) and none of its calls fails; a stream open across the age is not
// cut while the grace is 0; without the flag the client keeps its one connection.

import { once } from 'node:events';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModelStreamInferResponse } from '../../src/generated/inference/grpc_service.js';
import { call, connect, readInt32, simpleRequest } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';

const test = suite('--grpc-max-connection-age');
const AGE_MS = 300;

/** A TCP proxy to `port` that counts the connections it accepts. */
async function countingProxy(port: number): Promise<{ address: string; accepted: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((down) => {
    accepted++;
    const up = netConnect(port, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    down.pipe(up).pipe(down);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return {
    address: `127.0.0.1:${(proxy.address() as { port: number }).port}`,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    },
  };
}

const simple = simpleRequest;

/** Calls simple one after another until `until()` holds (at most 20 s); returns how many succeeded. */
async function callUntil(address: string, until: () => boolean): Promise<number> {
  const client = connect(address);
  let ok = 0;
  try {
    for (const deadline = Date.now() + 20_000; !until() && Date.now() < deadline; ) {
      const res = await call(client, client.modelInfer, simple());
      assert.equal(readInt32(res.rawOutputContents[0]!), Array(16).fill(3));
      ok++;
    }
  } finally {
    client.close();
  }
  return ok;
}

let aged: TestServer;
let plain: TestServer;
test.before(async () => {
  const args = ['--model-control-mode=explicit', '--load-model=simple', '--allow-metrics=false', '--allow-http=false'];
  aged = await startServer([...args, `--grpc-max-connection-age=${AGE_MS}`]);
  plain = await startServer(args);
});
test.after(async () => {
  assert.is(await aged?.stop(), 0);
  assert.is(await plain?.stop(), 0);
});

test('a client calling without pause is moved to new connections by the age, and no call fails', async () => {
  const proxy = await countingProxy(aged.port);
  try {
    const ok = await callUntil(proxy.address, () => proxy.accepted() >= 4);
    assert.ok(proxy.accepted() >= 4, `the client reconnected after each GOAWAY (${proxy.accepted()} connections)`);
    assert.ok(ok > 0);
  } finally {
    await proxy.close();
  }
});

test('without the flag the same number of calls keeps one connection', async () => {
  const proxy = await countingProxy(aged.port);
  const reference = await callUntil(proxy.address, () => proxy.accepted() >= 3);
  await proxy.close();
  const control = await countingProxy(plain.port);
  try {
    let made = 0;
    await callUntil(control.address, () => made++ >= reference);
    assert.is(control.accepted(), 1);
  } finally {
    await control.close();
  }
});

test('a stream open across the age is not cut while the grace is 0 (calls still open may finish)', async () => {
  const proxy = await countingProxy(aged.port);
  const client = connect(proxy.address);
  try {
    const stream = client.modelStreamInfer();
    const answers: ModelStreamInferResponse[] = [];
    stream.on('data', (r: ModelStreamInferResponse) => answers.push(r));
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    const answered = async (n: number): Promise<void> => {
      while (answers.length < n) await once(stream, 'data');
    };
    stream.write(simple());
    await answered(1);
    // Past two ages (with their ±10 % jitter): the connection has had its GOAWAY.
    const t0 = Date.now();
    for (let i = 2; Date.now() - t0 < 3 * AGE_MS; i++) {
      stream.write(simple());
      await answered(i);
    }
    stream.end();
    await ended;
    assert.ok(
      answers.every((a) => a.errorMessage === ''),
      'every answer on the old stream succeeded',
    );
    assert.is(proxy.accepted(), 1, 'the stream stayed on its first connection');
    await call(client, client.modelInfer, simple());
    assert.is(proxy.accepted(), 2, 'that connection had its GOAWAY: the next call opened another');
  } finally {
    client.close();
    await proxy.close();
  }
});

test.run();
