// The HTTP edge under attack: connections capped at accept, headers that never finish and
// bodies that never end closed by the server's timers, oversized and repeated headers,
// hostile paths; the gRPC bad-input cases asked over HTTP get Triton's statuses.

import { request as httpRequest } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';
import { identityModel } from '../../scripts/onnx-builder.js';

const test = suite('the HTTP edge under attack');
let server: TestServer;

test.before(async () => {
  server = await startServer([
    '--model-control-mode=explicit',
    '--load-model=simple',
    '--http-max-connections=3',
    '--http-headers-timeout=500',
    '--http-request-timeout=1500',
    '--http-cors-origin=http://app.example:3000',
    '--http-allowed-host=inference.example.com',
  ]);
});

test.after(async () => {
  await server?.stop();
});

/** A raw TCP connection to the HTTP port; resolves with what the server sent once it closed. */
function rawConnection(port = server.httpPort): { socket: Socket; closed: Promise<string> } {
  const socket = tcpConnect(port, '127.0.0.1');
  let got = '';
  socket.on('data', (d) => (got += d.toString('latin1')));
  const closed = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(got));
    socket.on('error', () => undefined);
  });
  return { socket, closed };
}

const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, { method: 'POST', body: JSON.stringify(body), headers });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as { error?: string } };
};

test('headers that never finish: the server answers 408 and closes the connection', async () => {
  const c = rawConnection();
  c.socket.write('GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
  const got = await c.closed;
  assert.match(got, /^HTTP\/1\.1 408/);
});

test('a body that never ends: 408 and closed, after the request timeout', async () => {
  const c = rawConnection();
  c.socket.write('POST /v2/models/simple/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{"inputs":');
  const got = await c.closed;
  assert.match(got, /HTTP\/1\.1 408/);
});

test('more than 100 headers, or an oversized header, is refused (431) without reaching a route', async () => {
  const many: Record<string, string> = {};
  for (let i = 0; i < 150; i++) many[`x-h${i}`] = 'v';
  const c = rawConnection();
  c.socket.write(`GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.match(await c.closed, /^HTTP\/1\.1 431/);
  // Past maxHeadersCount Node drops the extra headers; the request still answers.
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/v2/health/live`, { headers: many });
  assert.is(res.status, 200);
});

test('a web page from an origin not allowed cannot reach any route (403 before any work); an allowed one gets CORS headers', async () => {
  const base = `http://127.0.0.1:${server.httpPort}`;
  for (const origin of ['https://evil.example', 'null', 'http://app.example:3001']) {
    const unload = await fetch(`${base}/v2/repository/models/simple/unload`, { method: 'POST', headers: { origin, 'content-type': 'text/plain' }, body: '{}' });
    assert.is(unload.status, 403, origin);
    assert.match(((await unload.json()) as { error: string }).error, /--http-cors-origin/);
    assert.is(unload.headers.get('access-control-allow-origin'), null);
  }
  assert.is((await fetch(`${base}/v2/models/simple/ready`)).status, 200, 'simple was not unloaded');
  const allowed = 'http://app.example:3000';
  const ready = await fetch(`${base}/v2/models/simple/ready`, { headers: { origin: allowed } });
  assert.is(ready.status, 200);
  assert.is(ready.headers.get('access-control-allow-origin'), allowed);
  assert.match(ready.headers.get('access-control-expose-headers') ?? '', /inference-header-content-length/);
  const preflight = await fetch(`${base}/v2/models/simple/infer`, {
    method: 'OPTIONS',
    headers: { origin: allowed, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
  });
  assert.is(preflight.status, 204);
  assert.is(preflight.headers.get('access-control-allow-origin'), allowed);
  assert.is(preflight.headers.get('access-control-allow-methods'), 'GET, POST');
  assert.is(preflight.headers.get('access-control-allow-headers'), 'content-type, authorization');
  const other = await fetch(`${base}/v2/models/simple/infer`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  assert.is(other.status, 403);
  await other.arrayBuffer();
  // A compressed answer keeps Vary: origin next to accept-encoding.
  const inputs = ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', shape: [1, 16], data: Array(16).fill(1) }));
  const config = await fetch(`${base}/v2/models/simple/infer`, {
    method: 'POST',
    body: JSON.stringify({ id: 'x'.repeat(2000), inputs }),
    headers: { origin: allowed, 'accept-encoding': 'gzip' },
  });
  assert.is(config.status, 200);
  await config.arrayBuffer();
  assert.is(config.headers.get('content-encoding'), 'gzip');
  assert.is(config.headers.get('vary'), 'origin, accept-encoding');
});

test('--http-allowed-host: a Host a rebound DNS name would carry is refused (403); IP literals, localhost and listed names are served', async () => {
  const get = (host: string) =>
    new Promise<number>((resolve, reject) => {
      const r = httpRequest({ host: '127.0.0.1', port: server.httpPort, path: '/v2/models/simple/config', headers: { host } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on('error', reject);
      r.end();
    });
  assert.is(await get('rebound.attacker.example:8000'), 403);
  assert.is(await get('inference.example.com'), 200);
  assert.is(await get('localhost:8000'), 200);
  assert.is(await get(`127.0.0.1:${server.httpPort}`), 200);
});

test('hostile paths and model names: traversal, encoded slashes, control characters, a huge name', async () => {
  for (const path of ['/v2/models/..%2F..%2Fetc/ready', '/v2/models/%00/config', '/v2/models/a%0Ab/config', `/v2/models/${'x'.repeat(600)}/config`]) {
    const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`);
    assert.ok([400, 404].includes(res.status), `${path}: ${res.status}`);
    const text = await res.text();
    assert.not.match(text, /\n/, 'no raw control characters echoed');
  }
});

test('the request-structure limits of gRPC hold over HTTP: inputs, outputs, parameters, rank, elements (413 naming the flag)', async () => {
  const one = { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array(16).fill(1) };
  const params = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`p${i}`, i]));
  const cases: Array<[object, RegExp]> = [
    [{ inputs: Array.from({ length: 130 }, (_, i) => ({ ...one, name: `I${i}` })) }, /more than 128 inputs; .* --max-request-inputs/],
    [{ inputs: [one], outputs: Array.from({ length: 130 }, (_, i) => ({ name: `O${i}` })) }, /more than 128 outputs; .* --max-request-outputs/],
    [{ inputs: [one], parameters: params }, /more than 64 parameters; .* --max-request-parameters/],
    [{ inputs: [{ ...one, shape: Array(40).fill(1), data: [1] }] }, /more than 32 dimensions .* --max-tensor-rank/],
    [{ inputs: [{ ...one, shape: [5_000_000], data: [1] }] }, /more than 4194304 elements of JSON tensor data; .* --max-request-elements/],
  ];
  for (const [body, text] of cases) {
    const r = await post('/v2/models/simple/infer', body);
    assert.is(r.status, 413, JSON.stringify(r.body).slice(0, 200));
    assert.match(String(r.body.error), text);
  }
});

test('the gRPC bad-input cases over HTTP: statuses as Triton gives them', async () => {
  const input = (over: object = {}) => ({ name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array(16).fill(1), ...over });
  const second = { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: Array(16).fill(1) };
  const cases: Array<[string, object, number]> = [
    ['unknown version', { inputs: [input(), second] }, 404],
    ['missing input', { inputs: [input()] }, 400],
    ['extra input', { inputs: [input(), second, { ...second, name: 'INPUT9' }] }, 400],
    ['wrong datatype', { inputs: [input({ datatype: 'FP32', data: Array(16).fill(1.5) }), second] }, 400],
    ['wrong rank', { inputs: [input({ shape: [16] }), second] }, 400],
    ['batch too large', { inputs: [input({ shape: [9, 16], data: Array(144).fill(1) }), { ...second, shape: [9, 16], data: Array(144).fill(1) }] }, 400],
    ['unknown datatype', { inputs: [input({ datatype: 'INT4' }), second] }, 400],
    ['reserved parameter', { inputs: [input(), second], parameters: { triton_nonsense: 1 } }, 400],
    ['mistyped priority', { inputs: [input(), second], parameters: { priority: 'high' } }, 400],
    ['unknown output', { inputs: [input(), second], outputs: [{ name: 'NOPE' }] }, 400],
    ['shape over the element limit', { inputs: [input({ shape: [1, 2 ** 40], data: [] }), second] }, 413],
  ];
  for (const [what, body, status] of cases) {
    const path = what === 'unknown version' ? '/v2/models/simple/versions/7/infer' : '/v2/models/simple/infer';
    const r = await post(path, body);
    assert.is(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
    assert.ok(typeof r.body.error === 'string' && r.body.error.length > 0, `${what} says why`);
  }
  const bad = await post('/v2/models/bad name!/infer', {});
  assert.is(bad.status, 400);
});

test.run();

// A server of its own: nothing else may hold one of its few connections.
const cap = suite('HTTP connections capped at accept');
let capped: TestServer;
cap.before(async () => {
  capped = await startServer(['--model-control-mode=explicit', '--http-max-connections=3']);
});
cap.after(async () => {
  await capped?.stop();
});

cap('connections past --http-max-connections are closed at accept; the ones open still serve', async () => {
  const held = [rawConnection(capped.httpPort), rawConnection(capped.httpPort), rawConnection(capped.httpPort)];
  // Each held connection starts a request so the server has surely accepted it.
  for (const h of held) h.socket.write('GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await Promise.all(held.map((h) => new Promise((r) => h.socket.once('data', r))));
  const extra = rawConnection(capped.httpPort);
  const got = await extra.closed;
  assert.is(got, '', 'the fourth connection is closed without an answer');
  for (const h of held) h.socket.destroy();
  await Promise.all(held.map((h) => h.closed));
});

cap.run();

// A client that never reads its answer must not keep the server's body budget.
const slow = suite('a client that never reads its answer');
let slowServer: TestServer;
let slowRepo: TempRepo;
const ROW = 8 * 1024 * 1024;
slow.before(async () => {
  slowRepo = new TempRepo();
  slowRepo.write('big/1/model.onnx', identityModel('big', 'UINT8', ['batch', ROW]));
  slowServer = await startServer([`--model-repository=${slowRepo.root}`, '--http-max-input-size=16777216', `--http-max-buffered-bytes=${12 * 1024 * 1024}`]);
});
slow.after(async () => {
  await slowServer?.stop();
  slowRepo?.dispose();
});

function bigRequest(): { head: Buffer; body: Buffer } {
  const head = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [1, ROW], datatype: 'UINT8', parameters: { binary_data_size: ROW } }],
      parameters: { binary_data_output: true },
    }),
  );
  return { head, body: Buffer.concat([head, Buffer.alloc(ROW, 7)]) };
}

async function inferenceCount(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${slowServer.httpPort}/v2/models/big/stats`);
  return ((await res.json()) as { model_stats: Array<{ inference_count: number }> }).model_stats[0]?.inference_count ?? 0;
}

slow('its body bytes are released once the model has answered, so the next request is served', async () => {
  const { head, body } = bigRequest();
  const before = await inferenceCount();
  const a = rawConnection(slowServer.httpPort);
  a.socket.pause();
  a.socket.write(
    `POST /v2/models/big/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\nInference-Header-Content-Length: ${head.length}\r\n\r\n`,
  );
  a.socket.write(body);
  // Each stats call is an answered request; the loop ends when A's inference is counted.
  while ((await inferenceCount()) === before);
  const b = await fetch(`http://127.0.0.1:${slowServer.httpPort}/v2/models/big/infer`, {
    method: 'POST',
    body,
    headers: { 'inference-header-content-length': String(head.length) },
  });
  assert.is(b.status, 200, 'the 8 MiB still unread by A are not counted against the 12 MiB budget');
  await b.arrayBuffer();
  a.socket.destroy();
  await a.closed;
});

slow.run();
