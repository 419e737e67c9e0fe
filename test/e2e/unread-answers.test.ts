// Clients that never read their answers, at the wire: each answer counts against
// --max-queued-bytes until it has been sent, so they cannot pile up memory. Once the
// budget is held, other requests are refused with RESOURCE_EXHAUSTED naming the flag, and
// served again as soon as those clients go away. A ModelStreamInfer client that does not
// read stops the stream at --grpc-stream-max-in-flight requests, answered or not. With
// --answer-stall-timeout, such answers are dropped while those clients stay connected.

import * as grpc from '@grpc/grpc-js';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { identityModel } from '../../scripts/onnx-builder.js';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { call, callError, connect, simpleRequest, type InferenceClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { h2frame, hpack } from '../helpers/h2-frames.js';
import { TempRepo } from '../helpers/temp-repo.js';

const test = suite('clients that never read their answers');
const MiB = 1024 * 1024;
const BUDGET = 64 * MiB;
const STREAM_IN_FLIGHT = 4;
let server: TestServer;
let repo: TempRepo;
let client: InferenceClient;

async function start(extra: string[] = []): Promise<void> {
  repo = new TempRepo();
  repo.write('big/1/model.onnx', identityModel('big', 'UINT8', ['batch', 'n']));
  repo.copyBundled('simple');
  server = await startServer([
    `--model-repository=${repo.root}`,
    `--max-queued-bytes=${BUDGET}`,
    `--grpc-stream-max-in-flight=${STREAM_IN_FLIGHT}`,
    `--http-max-input-size=${32 * MiB}`,
    '--allow-metrics=false',
    ...extra,
  ]);
  client = connect(server.address);
}
async function stop(): Promise<void> {
  client?.close();
  assert.is(await server?.stop(), 0);
  repo?.dispose();
}
test.before(() => start());
test.after(stop);

const bigRequest = (bytes: number): ModelInferRequest =>
  ModelInferRequest.fromPartial({
    modelName: 'big',
    inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: [1n, BigInt(bytes)] }],
    rawInputContents: [Buffer.alloc(bytes, 7)],
  });

const grpcFrame = (req: ModelInferRequest): Buffer => {
  const msg = ModelInferRequest.encode(req).finish();
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  frame.set(msg, 5);
  return frame;
};

/** An HTTP/2 connection that grants no flow-control window: not one byte of an answer can reach it. */
async function unreadingSession(): Promise<ClientHttp2Session> {
  const session = h2connect(`http://127.0.0.1:${server.port}`, { settings: { initialWindowSize: 0 } });
  session.on('error', () => {});
  await new Promise((resolve) => session.once('remoteSettings', resolve));
  return session;
}

const grpcCall = (session: ClientHttp2Session, method: string) => {
  const stream = session.request({
    ':method': 'POST',
    ':path': `/inference.GRPCInferenceService/${method}`,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.on('error', () => {});
  return stream;
};

async function inferenceCount(model: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/v2/models/${model}/stats`);
  return ((await res.json()) as { model_stats: Array<{ inference_count: number }> }).model_stats[0]?.inference_count ?? 0;
}

/** Resolves once `model` has served `n` more inferences than `from` (bounded: 30 s). */
async function served(model: string, from: number, n: number): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) if ((await inferenceCount(model)) >= from + n) return;
  throw new Error(`${model} did not serve ${n} inferences`);
}

/** The small request other clients send: refused while the budget is held, served after. */
const victim = () => bigRequest(1024);

/** Resolves once a victim request of `bytes` is served again (each try is a call; bounded: 30 s). */
async function servedAgain(bytes = 1024): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const ok = await call(client, client.modelInfer, bigRequest(bytes)).then(
      () => true,
      () => false,
    );
    if (ok) return;
  }
  throw new Error('the budget was never given back');
}

test('gRPC unary answers a client does not read hold the budget until the client goes away', async () => {
  const before = await inferenceCount('big');
  const session = await unreadingSession();
  // Four 16 MiB answers: the budget, held by answers no byte of which can be sent.
  for (let i = 0; i < 4; i++) grpcCall(session, 'ModelInfer').end(grpcFrame(bigRequest(16 * MiB)));
  await served('big', before, 4);
  const err = await callError(client, client.modelInfer, victim());
  assert.is(err.code, grpc.status.RESOURCE_EXHAUSTED, err.details);
  assert.match(err.details, /--max-queued-bytes/);
  assert.match(err.details, /answers not yet read/);
  session.destroy();
  await servedAgain();
});

test('a ModelStreamInfer client that does not read is served at most --grpc-stream-max-in-flight requests', async () => {
  const before = await inferenceCount('big');
  const session = await unreadingSession();
  const stream = grpcCall(session, 'ModelStreamInfer');
  for (let i = 0; i < 4 * STREAM_IN_FLIGHT; i++) stream.write(grpcFrame(bigRequest(1024)));
  await served('big', before, STREAM_IN_FLIGHT);
  // Many round trips on another model: turns of the server's loop in which it could read more of the stream.
  for (let i = 0; i < 50; i++) await call(client, client.modelInfer, simpleRequest());
  assert.is(await inferenceCount('big'), before + STREAM_IN_FLIGHT, 'no request past the limit was read while its answers wait');
  session.destroy();
  await servedAgain();
});

/** An HTTP/1.1 connection that sends `count` binary inferences (pipelined) and never reads the answers. */
function unreadingHttp(bytes: number, count = 1): Socket {
  const head = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [1, bytes], datatype: 'UINT8', parameters: { binary_data_size: bytes } }],
      parameters: { binary_data_output: true },
    }),
  );
  const socket = tcpConnect(server.httpPort, '127.0.0.1');
  socket.on('error', () => {});
  socket.pause();
  for (let i = 0; i < count; i++) {
    socket.write(
      `POST /v2/models/big/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${head.length + bytes}\r\nInference-Header-Content-Length: ${head.length}\r\n\r\n`,
    );
    socket.write(head);
    socket.write(Buffer.alloc(bytes, 7));
  }
  return socket;
}

test('HTTP answers a client does not read hold the budget until the client goes away', async () => {
  const before = await inferenceCount('big');
  // Three 20 MiB answers, each more than the kernel's socket buffers take: 60 of the 64 MiB.
  const sockets = [0, 1, 2].map(() => unreadingHttp(20 * MiB));
  await served('big', before, 3);
  const head = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [1, 8 * MiB], datatype: 'UINT8', parameters: { binary_data_size: 8 * MiB } }],
      parameters: { binary_data_output: true },
    }),
  );
  const refused = await fetch(`http://127.0.0.1:${server.httpPort}/v2/models/big/infer`, {
    method: 'POST',
    body: Buffer.concat([head, Buffer.alloc(8 * MiB)]),
    headers: { 'inference-header-content-length': String(head.length) },
  });
  const text = await refused.text();
  assert.is(refused.status, 429, text);
  assert.match(text, /--max-queued-bytes/);
  for (const s of sockets) s.destroy();
  await servedAgain();
});

test('pipelined HTTP answers of a connection that closes unread give the budget back (Node 20 never closes a queued response)', async () => {
  for (let round = 0; round < 2; round++) {
    const before = await inferenceCount('big');
    const socket = unreadingHttp(8 * MiB, 2);
    await served('big', before, 2);
    socket.destroy();
  }
  // 56 MiB fits the 64 MiB budget only if none of the four answers above is still held.
  await servedAgain(56 * MiB);
});

test.run();

const stalled = suite('--answer-stall-timeout');
const STALL_MS = 400;
stalled.before(() => start([`--answer-stall-timeout=${STALL_MS}`]));
stalled.after(stop);

/** Resolves with the RST_STREAM code once the server resets `stream` (bounded: 30 s). */
const resetCode = (stream: ReturnType<typeof grpcCall>): Promise<number> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the stream was never reset')), 30_000);
    stream.once('close', () => {
      clearTimeout(t);
      resolve(stream.rstCode ?? -1);
    });
  });

stalled('a unary answer its client reads none of is dropped: the stream is reset and the budget given back, the client still connected', async () => {
  const before = await inferenceCount('big');
  const session = await unreadingSession();
  const calls = [0, 1, 2, 3].map(() => grpcCall(session, 'ModelInfer'));
  const resets = calls.map(resetCode);
  for (const c of calls) c.end(grpcFrame(bigRequest(16 * MiB)));
  await served('big', before, 4);
  assert.equal(await Promise.all(resets), [8, 8, 8, 8], 'RST_STREAM CANCEL');
  assert.not.ok(session.destroyed, 'the connection itself stays');
  await servedAgain();
  session.destroy();
});

stalled('a stream whose client stopped reading is reset', async () => {
  const session = await unreadingSession();
  const stream = grpcCall(session, 'ModelStreamInfer');
  const reset = resetCode(stream);
  for (let i = 0; i < 2 * STREAM_IN_FLIGHT; i++) stream.write(grpcFrame(bigRequest(1024)));
  assert.is(await reset, 8);
  session.destroy();
});

stalled('an HTTP answer its client reads none of closes the connection and gives the budget back', async () => {
  const before = await inferenceCount('big');
  let since = server.lines.length;
  const sockets = [0, 1, 2].map(() => unreadingHttp(20 * MiB));
  await served('big', before, 3);
  // The clients do not read, so they would not even see the close: the server's side shows it.
  for (let n = 0; n < 3; n++) {
    const line = await server.waitForLine(/closing a connection whose client read none of its answer.*--answer-stall-timeout/, 10_000, since);
    since = server.lines.indexOf(line, since) + 1;
  }
  // 8 MiB more than the 60 held would pass the 64 MiB budget: served, so the answers were given back.
  await servedAgain(8 * MiB);
  for (const s of sockets) s.destroy();
});

stalled('a stream whose client reads slowly but steadily is not reset, though a write is always waiting', async () => {
  const session = h2connect(`http://127.0.0.1:${server.port}`);
  session.on('error', () => {});
  const stream = grpcCall(session, 'ModelStreamInfer');
  let reset = false;
  stream.once('close', () => (reset = stream.rstCode !== 0));
  // About 1 MB/s: a 64 KiB answer every ~60 ms, far inside the 400 ms timeout; with many
  // requests sent, the next answer's write starts as the last one completes.
  let received = 0;
  stream.on('data', (chunk: Buffer) => {
    received += chunk.length;
    stream.pause();
    setTimeout(() => stream.resume(), 15);
  });
  const n = 40;
  for (let i = 0; i < n; i++) stream.write(grpcFrame(bigRequest(64 * 1024)));
  stream.end();
  await new Promise<void>((resolve, reject) => {
    stream.once('close', () => (reset ? reject(new Error(`the stream was reset (${stream.rstCode})`)) : resolve()));
  });
  assert.ok(received > n * 64 * 1024, `every answer arrived (${received} bytes)`);
  session.destroy();
});

stalled('a stream whose client lets one answer through now and then is reset once an answer has waited past the timeout', async () => {
  const since = server.lines.length;
  // A hand-framed HTTP/2 client: a stream window of 0, then 600 bytes more every 100 ms.
  // Each ~1 KB answer completes every ~200 ms, inside the 400 ms timeout, while the answers
  // queued behind it wait longer than that.
  const socket = tcpConnect(server.port, '127.0.0.1');
  socket.on('error', () => {});
  let rst = -1;
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
      const len = buf.readUIntBE(0, 3);
      const [type, flags] = [buf[3]!, buf[4]!];
      if (type === 4 && !(flags & 1)) socket.write(h2frame(4, 1, 0, Buffer.alloc(0)));
      if (type === 3) rst = buf.readUInt32BE(9);
      buf = buf.subarray(9 + len);
    }
  });
  const noWindow = Buffer.alloc(6);
  noWindow.writeUInt16BE(4, 0); // SETTINGS_INITIAL_WINDOW_SIZE = 0
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), h2frame(4, 0, 0, noWindow)]));
  const headers = hpack([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', '/inference.GRPCInferenceService/ModelStreamInfer'],
    [':authority', '127.0.0.1'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ]);
  socket.write(h2frame(1, 4, 1, headers));
  for (let i = 0; i < 4 * STREAM_IN_FLIGHT; i++) socket.write(h2frame(0, 0, 1, grpcFrame(bigRequest(1024))));
  const grant = Buffer.alloc(4);
  grant.writeUInt32BE(600);
  const timer = setInterval(() => socket.write(Buffer.concat([h2frame(8, 0, 1, grant), h2frame(8, 0, 0, grant)])), 100);
  try {
    await server.waitForLine(/resetting a stream with an answer unsent \d+ ms after it was computed/, 20_000, since);
    for (const deadline = Date.now() + 5000; rst < 0 && Date.now() < deadline; ) await new Promise((r) => setImmediate(r));
    assert.is(rst, 8, 'RST_STREAM CANCEL');
    assert.not.ok(
      server.lines.slice(since).some((l) => /client read none of its answer/.test(l)),
      'the write-completion clock never fired: writes kept completing',
    );
  } finally {
    clearInterval(timer);
    socket.destroy();
  }
});

stalled.run();
