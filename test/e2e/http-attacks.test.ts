// Attacks on the HTTP frontend found by review, each a test of the safe behaviour:
// --http-allowed-host on the metrics port, no 100 Continue for a request that will be
// refused, 'file:__proto__' load parameters, JSON answers bounded in bytes, config map
// keys kept as written, and access-policy globs matched in linear time.
//
// Servers: `server` in-process (explicit mode, CORS, --http-allowed-host, small JSON and
// body limits); `policyServer` a child process with an access policy whose anonymous grant
// has a multi-star glob: a regression would freeze its event loop, not this process's.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, startServerProcess, type ServerProcess, type TestServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';
import { simpleConfigJson } from '../helpers/simple-config.js';

const test = suite('attacks on the HTTP frontend, the origin rule and the access check');

const MAX_JSON = 1024 * 1024;
const MAX_INPUT = 4 * 1024 * 1024;
const ALLOWED_ORIGIN = 'http://app.example:3000';
const REBOUND_HOST = 'rebound.attacker.example';
/** A glob with several stars between literals, as a naming scheme might use (team-*-model-*-v*). */
const EVIL_PATTERN = '*-*-*-*-*-gpu';

let server: TestServer;
let policyServer: ServerProcess | undefined;
let repo: TempRepo;
let dir = '';
let base = '';

test.before(async () => {
  repo = new TempRepo().copyBundled('simple').copyBundled('identity_bytes').copyBundled('simple', 'simple_load').copyBundled('simple', 'simple_cfg');
  // A config parameter whose key the operator (or a model-repository client) wrote in CamelCase.
  const cfg = join(repo.root, 'simple_cfg', 'config.pbtxt');
  writeFileSync(cfg, `${readFileSync(cfg, 'utf8')}\nparameters { key: "MaxTokens" value: { string_value: "5" } }\n`);
  server = await startServer([
    `--model-repository=${repo.root}`,
    '--model-control-mode=explicit',
    '--load-model=*',
    `--http-cors-origin=${ALLOWED_ORIGIN}`,
    '--http-allowed-host=inference.example.com',
    `--http-max-json-size=${MAX_JSON}`,
    `--http-max-json-answer-size=${MAX_JSON}`,
    `--http-max-input-size=${MAX_INPUT}`,
  ]);
  base = `http://127.0.0.1:${server.httpPort}`;

  dir = mkdtempSync(join(tmpdir(), 'attacks-13-'));
  const policyFile = join(dir, 'policy.yaml');
  // The evil grant comes first, so `some()` reaches its regex before the catch-all one.
  writeFileSync(
    policyFile,
    ['anonymous:', '  - categories: [metadata]', `    models: ["${EVIL_PATTERN}"]`, '  - categories: [health, metadata]', '    models: ["*"]', ''].join('\n'),
  );
  policyServer = await startServerProcess(['--model-control-mode=explicit', `--access-policy=${policyFile}`]);
});

test.after(async () => {
  await policyServer?.stop('SIGKILL');
  await server?.stop();
  repo?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body), headers });
  const text = await res.text();
  let json: { error?: string } = {};
  try {
    json = JSON.parse(text) as { error?: string };
  } catch {
    json = {};
  }
  return { status: res.status, body: json, text };
};

/** Writes `bytes` on a fresh connection; resolves with what came back once the server closed it, or after `waitMs`. */
function exchange(port: number, bytes: string, waitMs = 3000): Promise<{ got: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let got = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ got, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

/** A GET with a Host header of our choosing (fetch will not send one). */
function getWithHost(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

test('--http-allowed-host guards the metrics endpoint too: a rebound Host cannot read GET /metrics (an IP literal still can)', async () => {
  const api = await getWithHost(server.httpPort, '/v2/models/simple/config', `${REBOUND_HOST}:8000`);
  assert.is(api.status, 403, 'the HTTP API refuses the rebound Host (the flag works there)');
  const scrape = await getWithHost(server.metricsPort, '/metrics', `${REBOUND_HOST}:8002`);
  assert.ok(
    scrape.status === 403 || scrape.status === 421,
    `GET /metrics with Host ${REBOUND_HOST}: ${scrape.status}, ${scrape.body.length} bytes (${scrape.body.slice(0, 80).replace(/\n/g, ' ')})`,
  );
  const ok = await getWithHost(server.metricsPort, '/metrics', `127.0.0.1:${server.metricsPort}`);
  assert.is(ok.status, 200);
});

test('a request refused before its body is read gets its final status with no "100 Continue" first', async () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'disallowed Origin',
      `POST /v2/repository/models/simple/unload HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\nContent-Type: text/plain\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n`,
      /HTTP\/1\.1 403/,
    ],
    [
      'rebound Host',
      `POST /v2/repository/models/simple/unload HTTP/1.1\r\nHost: ${REBOUND_HOST}\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n`,
      /HTTP\/1\.1 403/,
    ],
    [
      'declared body over --http-max-input-size',
      `POST /v2/models/simple/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${MAX_INPUT * 16}\r\nExpect: 100-continue\r\n\r\n`,
      /HTTP\/1\.1 413/,
    ],
  ];
  const results = await Promise.all(cases.map(([, bytes]) => exchange(server.httpPort, bytes)));
  cases.forEach(([what, , status], i) => {
    const { got } = results[i]!;
    assert.match(got, status, `${what}: ${JSON.stringify(got.slice(0, 120))}`);
    assert.not.match(got, /^HTTP\/1\.1 100/, `${what}: the server invited a body it will not read: ${JSON.stringify(got.slice(0, 60))}`);
  });
  assert.is((await fetch(`${base}/v2/models/simple/ready`)).status, 200, 'simple is still loaded');
});

test("a load parameter 'file:__proto__' is refused (400), not dropped while the load succeeds", async () => {
  const r = await post('/v2/repository/models/simple_load/load', { parameters: { 'file:__proto__': Buffer.from('not a model').toString('base64') } });
  assert.is(r.status, 400, r.text.slice(0, 300));
  // With a config too: the config is applied and the "file" vanishes.
  const config = simpleConfigJson('simple_load');
  const withConfig = await post('/v2/repository/models/simple_load/load', { parameters: { config, 'file:__proto__': 'AAAA' } });
  assert.is(withConfig.status, 400, withConfig.text.slice(0, 300));
  assert.match(String(withConfig.body.error), /__proto__/, 'the refusal names the file parameter');
});

test('a JSON answer is bounded in bytes, not only in elements: one 3 MiB BYTES element of control characters is refused as JSON (ask for binary_data), not written as 18 MiB', async () => {
  const n = 3 * 1024 * 1024;
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(n);
  const head = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [1, 1], datatype: 'BYTES', parameters: { binary_data_size: n + 4 } }],
      outputs: [{ name: 'OUTPUT0' }],
    }),
  );
  const body = Buffer.concat([head, prefix, Buffer.alloc(n, 0x01)]);
  const res = await fetch(`${base}/v2/models/identity_bytes/infer`, {
    method: 'POST',
    body,
    headers: { 'inference-header-content-length': String(head.length), 'accept-encoding': 'identity' },
  });
  const answer = Buffer.from(await res.arrayBuffer());
  const refused = res.status === 400 || res.status === 413;
  assert.ok(refused || answer.length <= MAX_JSON, `status ${res.status}: ${answer.length} bytes of answer to a ${body.length}-byte request`);
  if (refused) assert.match(answer.toString('utf8'), /binary_data/);
});

test("GET …/config keeps user-defined map keys as written ('MaxTokens'), turning only field names into snake_case", async () => {
  const res = await fetch(`${base}/v2/models/simple_cfg/config`);
  assert.is(res.status, 200);
  const cfg = (await res.json()) as { max_batch_size?: number; parameters?: Record<string, unknown> };
  assert.is(cfg.max_batch_size, 8, 'field names are snake_case');
  assert.ok(Object.keys(cfg.parameters ?? {}).includes('MaxTokens'), `parameters: ${JSON.stringify(cfg.parameters)}`);
});

test('an access-policy glob is matched in linear time: a 400-character model name in the path is answered at once, and the server stays responsive', async () => {
  const port = policyServer!.httpPort;
  const name = '-'.repeat(400);
  const outcome = await fetch(`http://127.0.0.1:${port}/v2/models/${name}`, { signal: AbortSignal.timeout(5000) }).then(
    async (r) => {
      await r.arrayBuffer();
      return r.status;
    },
    (e: Error) => e.name,
  );
  assert.ok(typeof outcome === 'number', `no answer within 5 s (${String(outcome)}): the server is still matching '${EVIL_PATTERN}'`);
  assert.ok([400, 401, 403, 404].includes(outcome as number), `status ${String(outcome)}`);
  const live = await fetch(`http://127.0.0.1:${port}/v2/health/live`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.status,
    (e: Error) => e.name,
  );
  assert.is(live, 200, 'other clients are served');
});

test.run();
