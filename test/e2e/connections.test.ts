// Connection and request limits set by flags, against the real server: silent
// connections are closed, ping floods get GOAWAY, the stream and connection caps reach
// the wire, and each request limit answers RESOURCE_EXHAUSTED naming its flag.

import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { status } from '@grpc/grpc-js';
import { connect as h2connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { call, callError, connect, readInt32, simpleRequest, type InferenceClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';

const test = suite('connection and request limits');
const FIRST_REQUEST_MS = 500;
let server: TestServer;
let client: InferenceClient;

test.before(async () => {
  server = await startServer([
    `--grpc-first-request-timeout=${FIRST_REQUEST_MS}`,
    '--grpc-max-concurrent-streams=7',
    '--grpc-max-connections=6',
    '--max-request-inputs=2',
    '--max-request-parameters=3',
    '--max-queued-bytes=100000',
    '--allow-metrics=false',
  ]);
  client = connect(server.address);
});

test.after(async () => {
  client?.close();
  assert.is(await server?.stop(), 0);
});

const simple = simpleRequest;

async function stillServing(): Promise<void> {
  const res = await call(client, client.modelInfer, simple());
  assert.equal(readInt32(res.rawOutputContents[0]!), Array(16).fill(3));
}

/** `p`, or a failure after `ms`: a guard that did not act must fail the test, not hang it. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** A TCP connection that sends the HTTP/2 preface and SETTINGS, then nothing. */
function silentConnection(): { socket: Socket; closed: Promise<number> } {
  const start = performance.now();
  const socket = netConnect(server.port, '127.0.0.1', () => {
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
  });
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  return { socket, closed: new Promise((resolve) => socket.on('close', () => resolve(performance.now() - start))) };
}

function session(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = h2connect(`http://${server.address}`);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

test('a connection that sends a preface and then nothing is closed after --grpc-first-request-timeout, while one that made a call stays', async () => {
  await stillServing();
  const { closed } = silentConnection();
  const ms = await within(closed, 10_000, 'closing the silent connection');
  assert.ok(ms >= FIRST_REQUEST_MS * 0.8, `closed after ${ms.toFixed(0)} ms, before the timeout`);
  assert.is(client.getChannel().getConnectivityState(false), grpc.connectivityState.READY, 'the connection that made a call is still open');
  await stillServing();
});

test('a client that pings again and again with no call open gets GOAWAY ENHANCE_YOUR_CALM too_many_pings', async () => {
  const s = await session();
  const goaway = new Promise<{ code: number; data: string }>((resolve) =>
    s.once('goaway', (code, _last, data) => resolve({ code, data: data?.toString() ?? '' })),
  );
  s.on('error', () => undefined);
  for (let i = 0; i < 6 && !s.closed && !s.destroyed; i++) {
    await new Promise<void>((resolve) => (s.ping(() => resolve()) ? undefined : resolve()));
  }
  const g = await within(goaway, 10_000, 'GOAWAY');
  assert.is(g.code, h2.NGHTTP2_ENHANCE_YOUR_CALM);
  assert.is(g.data, 'too_many_pings');
  s.destroy();
  await stillServing();
});

test('the stream cap reaches the client in SETTINGS_MAX_CONCURRENT_STREAMS', async () => {
  const s = await session();
  const settings =
    s.remoteSettings.maxConcurrentStreams === 7
      ? s.remoteSettings
      : await within(new Promise<typeof s.remoteSettings>((resolve) => s.once('remoteSettings', resolve)), 10_000, 'SETTINGS');
  assert.is(settings.maxConcurrentStreams, 7);
  s.destroy();
});

test('connections past --grpc-max-connections are closed at accept and the others serve on', async () => {
  // The client's connection is one of the 6 allowed; of 10 more, at most 5 get in (and
  // are closed later by the first-request timeout), the rest are closed at accept.
  const times = await within(Promise.all(Array.from({ length: 10 }, () => silentConnection().closed)), 10_000, 'closing all ten');
  const atAccept = times.filter((ms) => ms < FIRST_REQUEST_MS * 0.8).length;
  assert.ok(atAccept >= 5 && atAccept <= 9, `closed at accept: ${atAccept} of 10 (${times.map((t) => t.toFixed(0)).join(', ')} ms)`);
  await stillServing();
});

test('the connection-level receive window a client sees is --grpc-connection-window, not 64 KiB', async () => {
  const session = h2connect(`http://127.0.0.1:${server.port}`);
  session.on('error', () => {});
  try {
    await once(session, 'remoteSettings');
    // The window arrives in a WINDOW_UPDATE right after the server's SETTINGS.
    for (const deadline = Date.now() + 5000; session.state.remoteWindowSize! < 8 * 1024 * 1024 && Date.now() < deadline; ) {
      await new Promise((r) => setImmediate(r));
    }
    assert.is(session.state.remoteWindowSize, 8 * 1024 * 1024);
  } finally {
    session.destroy();
  }
});

test('each request limit answers RESOURCE_EXHAUSTED naming its flag', async () => {
  const three = simple();
  three.inputs.push({ name: 'INPUT2', datatype: 'INT32', shape: [1n, 16n], parameters: {}, contents: undefined });
  let err = await callError(client, client.modelInfer, three);
  assert.is(err.code, status.RESOURCE_EXHAUSTED);
  assert.match(err.details, /--max-request-inputs/);

  const params = simple();
  params.parameters = Object.fromEntries(['a', 'b', 'c', 'd'].map((k) => [k, { parameterChoice: { $case: 'boolParam' as const, value: true } }]));
  err = await callError(client, client.modelInfer, params);
  assert.is(err.code, status.RESOURCE_EXHAUSTED);
  assert.match(err.details, /--max-request-parameters/);

  // 2 x 64 KiB of input: more than the 100,000 bytes the server may hold at once.
  const big = ModelInferRequest.fromPartial({
    modelName: 'identity_fp32',
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, 32768n] }],
    rawInputContents: [Buffer.alloc(131072)],
  });
  err = await callError(client, client.modelInfer, big);
  assert.is(err.code, status.RESOURCE_EXHAUSTED);
  assert.match(err.details, /--max-queued-bytes/);
  await stillServing();
});

test.run();
