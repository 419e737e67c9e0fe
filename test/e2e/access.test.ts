// The access policy end to end: a real server with --access-policy and --audit-log, real
// gRPC and HTTP clients sending API keys. Every route of the route table is called by a
// caller without credentials, one with a key the policy gives nothing, one whose grants
// cover another model, and an administrator; then lists, streams, reloads and the audit
// trail.

import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest, ModelStreamInferResponse } from '../../src/generated/inference/grpc_service.js';
import { hashApiKey, newApiKey } from '../../src/security/api-key.js';
import { CATEGORIES, ROUTES, routeSpec } from '../../src/security/routes.js';
import { call, callError, connect, int32Buffer } from '../helpers/client.js';
import { bearer, probeRoute, type ProbeResult } from '../helpers/route-probe.js';
import { startServer, startServerProcess, type ServerProcess, type TestServer } from '../helpers/server-process.js';

const test = suite('access policy: who may call what on which model');
const dir = mkdtempSync(join(tmpdir(), 'triton-ts-access-'));
const policyFile = join(dir, 'policy.yaml');
const auditFile = join(dir, 'audit.jsonl');
const keys = { admin: newApiKey(), nobody: newApiKey(), other: newApiKey(), simple: newApiKey() };
const all = `[${CATEGORIES.join(', ')}]`;

function policy(simpleCategories: string): string {
  return `version: 1
anonymous:
  - categories: [health]
    models: ["*"]
principals:
  - name: admin
    api_key_sha256: "${hashApiKey(keys.admin)}"
    grants:
      - categories: ${all}
        models: ["*"]
  - name: nobody
    api_key_sha256: "${hashApiKey(keys.nobody)}"
    grants: []
  - name: other-model
    api_key_sha256: "${hashApiKey(keys.other)}"
    grants:
      - categories: ${all}
        models: ["add_*"]
  - name: simple-user
    api_key_sha256: "${hashApiKey(keys.simple)}"
    grants:
      - categories: ${simpleCategories}
        models: [simple]
`;
}

let server: ServerProcess;
let client: grpc.Client;

test.before(async () => {
  writeFileSync(policyFile, policy('[inference, metadata, statistics, model-repository, metrics]'));
  server = await startServerProcess([
    '--model-control-mode=explicit',
    '--load-model=simple',
    '--load-model=add_version',
    `--access-policy=${policyFile}`,
    `--audit-log=${auditFile}`,
    '--audit-log-infer-sample-rate=1',
  ]);
  client = new grpc.Client(server.address, grpc.credentials.createInsecure());
});

test.after(async () => {
  client?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const grpcRoutes = Object.keys(ROUTES).filter((r) => r.startsWith('/'));
const denied = (r: ProbeResult, code: number, text: RegExp): boolean => (r.inBand ? text.test(r.details) : r.code === code);
const unauthenticated = (r: ProbeResult): boolean => denied(r, grpc.status.UNAUTHENTICATED, /needs credentials/);
const forbidden = (r: ProbeResult): boolean => denied(r, grpc.status.PERMISSION_DENIED, /does not have permission/);

test('without credentials every route but health is UNAUTHENTICATED', async () => {
  for (const route of grpcRoutes) {
    const r = await probeRoute(client, route, 'simple', bearer(undefined));
    if (routeSpec(route)!.category === 'health') assert.ok(!unauthenticated(r) && !forbidden(r), `${route} is open: ${JSON.stringify(r)}`);
    else assert.ok(unauthenticated(r), `${route} refuses an anonymous caller: ${JSON.stringify(r)}`);
  }
});

test('an unknown key, or a malformed authorization header, is UNAUTHENTICATED on every route, health included', async () => {
  for (const route of grpcRoutes) {
    for (const md of [bearer(newApiKey()), bearer(undefined, { authorization: 'Basic YWRtaW46YWRtaW4=' })]) {
      const r = await probeRoute(client, route, 'simple', md);
      assert.ok(r.code === grpc.status.UNAUTHENTICATED || (r.inBand && /not known|must be 'Bearer/.test(r.details)), `${route}: ${JSON.stringify(r)}`);
      assert.not.match(r.details, /tts_/, 'the message never echoes a key');
    }
  }
});

test('a known key without grants is PERMISSION_DENIED on every route but health', async () => {
  for (const route of grpcRoutes) {
    const r = await probeRoute(client, route, 'simple', bearer(keys.nobody));
    if (routeSpec(route)!.category === 'health') assert.ok(!unauthenticated(r) && !forbidden(r), `${route}: ${JSON.stringify(r)}`);
    else assert.ok(forbidden(r), `${route} refuses 'nobody': ${JSON.stringify(r)}`);
  }
});

test('grants on other models open the server-wide routes but no route that names this model', async () => {
  for (const route of grpcRoutes) {
    const spec = routeSpec(route)!;
    const r = await probeRoute(client, route, 'simple', bearer(keys.other));
    const namesModel =
      spec.scope.kind === 'model' || (spec.scope.kind === 'optional' && route !== '/grpc.health.v1.Health/Check' && route !== '/grpc.health.v1.Health/Watch');
    if (spec.category === 'health') assert.ok(!forbidden(r), `${route}: ${JSON.stringify(r)}`);
    else if (namesModel) assert.ok(forbidden(r), `${route} on 'simple' is refused: ${JSON.stringify(r)}`);
    else assert.ok(!forbidden(r) && !unauthenticated(r), `${route} server-wide is allowed: ${JSON.stringify(r)}`);
  }
});

test('an administrator passes the access check on every route', async () => {
  for (const route of grpcRoutes) {
    // A model not loaded: the administrator's RepositoryModelLoad and Unload then leave 'simple' serving.
    const r = await probeRoute(client, route, 'identity_fp32', bearer(keys.admin));
    assert.ok(!forbidden(r) && !unauthenticated(r), `${route}: ${JSON.stringify(r)}`);
  }
});

test('the refusal names the principal, the permission and the model, never the key', async () => {
  const r = await probeRoute(client, '/inference.GRPCInferenceService/ModelInfer', 'add_version', bearer(keys.simple));
  assert.is(r.code, grpc.status.PERMISSION_DENIED);
  assert.is(r.details, "principal 'simple-user' does not have permission 'inference' on model 'add_version' (ModelInfer)");
  const a = await probeRoute(client, '/inference.GRPCInferenceService/ModelConfig', 'simple', bearer(undefined));
  assert.is(a.code, grpc.status.UNAUTHENTICATED);
  assert.match(a.details, /'model-config' on model 'simple'/);
});

function streamReplies(metadata: grpc.Metadata, models: string[]): Promise<ModelStreamInferResponse[]> {
  return new Promise((resolve, reject) => {
    const stream = client.makeBidiStreamRequest(
      '/inference.GRPCInferenceService/ModelStreamInfer',
      (m: ModelInferRequest) => Buffer.from(ModelInferRequest.encode(m).finish()),
      (b: Buffer) => ModelStreamInferResponse.decode(b),
      metadata,
      {},
    );
    const out: ModelStreamInferResponse[] = [];
    stream.on('data', (m: ModelStreamInferResponse) => {
      out.push(m);
      if (out.length === models.length) stream.end();
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
    for (const [i, model] of models.entries()) {
      stream.write(
        ModelInferRequest.fromPartial({
          modelName: model,
          id: `r${i}`,
          inputs: [
            { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
            { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
          ],
          rawInputContents: [int32Buffer(Array(16).fill(i + 1)), int32Buffer(Array(16).fill(1))],
        }),
      );
    }
  });
}

test('a stream allowed on one model cannot infer on another: that message is refused in-band, the stream goes on', async () => {
  const replies = await streamReplies(bearer(keys.simple), ['simple', 'add_version', 'simple']);
  const byId = new Map(replies.map((r) => [r.inferResponse?.id, r]));
  assert.is(byId.get('r0')?.errorMessage, '');
  assert.is(byId.get('r1')?.errorMessage, "principal 'simple-user' does not have permission 'inference' on model 'add_version' (ModelStreamInfer)");
  assert.is(byId.get('r2')?.errorMessage, '', 'the stream still serves the allowed model after the refusal');
  assert.is(byId.get('r2')?.inferResponse?.outputs.length, 2);
});

function unaryRaw(path: string, bytes: Buffer, metadata: grpc.Metadata): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      metadata,
      {},
      (err, res) => (err ? reject(err) : resolve(res!)),
    ),
  );
}

test('RepositoryIndex and ModelStatistics without a name list only the models the caller may see', async () => {
  const { RepositoryIndexResponse, ModelStatisticsResponse } = await import('../../src/generated/inference/grpc_service.js');
  const index = async (key: string): Promise<string[]> => [
    ...new Set(
      RepositoryIndexResponse.decode(await unaryRaw('/inference.GRPCInferenceService/RepositoryIndex', Buffer.alloc(0), bearer(key))).models.map((m) => m.name),
    ),
  ];
  const stats = async (key: string): Promise<string[]> => [
    ...new Set(
      ModelStatisticsResponse.decode(await unaryRaw('/inference.GRPCInferenceService/ModelStatistics', Buffer.alloc(0), bearer(key))).modelStats.map(
        (m) => m.name,
      ),
    ),
  ];
  assert.equal(await index(keys.simple), ['simple']);
  assert.equal(await stats(keys.simple), ['simple']);
  assert.equal(await index(keys.other), ['add_version']);
  assert.ok((await index(keys.admin)).length >= 5, 'the administrator sees the whole repository');
  const adminStats = await stats(keys.admin);
  assert.ok(adminStats.includes('add_version') && adminStats.includes('simple'), adminStats.join());
});

test('Health/List: open like the other health routes, and it lists the server and the loaded models', async () => {
  const { protoPath } = await import('grpc-health-check');
  const protoLoader = await import('@grpc/proto-loader');
  const def = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { keepCase: true, enums: String })) as unknown as {
    grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => grpc.Client } } };
  };
  const health = new def.grpc.health.v1.Health(server.address, grpc.credentials.createInsecure()) as grpc.Client & {
    list(req: object, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: { statuses: Record<string, { status: string }> }) => void): void;
  };
  try {
    const call = (md: grpc.Metadata) =>
      new Promise<{ statuses: Record<string, { status: string }> }>((resolve, reject) => health.list({}, md, (e, r) => (e ? reject(e) : resolve(r!))));
    const anon = await call(bearer(undefined));
    for (const name of ['', 'inference.GRPCInferenceService', 'simple', 'add_version']) assert.is(anon.statuses[name]?.status, 'SERVING', name);
    // The administrator's load and unload earlier left identity_fp32 with an entry, unloaded.
    assert.is(anon.statuses['identity_fp32']?.status, 'NOT_SERVING');
    assert.not.ok(Object.hasOwn(anon.statuses, 'ocr_cls'), 'a model never loaded has no entry');
    const bad = await call(bearer(newApiKey())).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    assert.is(bad?.code, grpc.status.UNAUTHENTICATED, 'an unknown key is refused here too');
  } finally {
    health.close();
  }
});

const httpRoutes = Object.keys(ROUTES).filter((r) => r.startsWith('GET /v2') || r.startsWith('POST /v2'));

async function httpProbe(route: string, key: string | undefined, model = 'simple'): Promise<{ status: number; error: string; auth: string | null }> {
  const [method, pattern] = route.split(' ') as [string, string];
  const path = pattern.replace(':model', model).replace(':version', '1').replace(':region', 'r');
  const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
    method,
    headers: key ? { authorization: `Bearer ${key}` } : {},
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    error: text.startsWith('{') ? String((JSON.parse(text) as { error?: string }).error ?? '') : '',
    auth: res.headers.get('www-authenticate'),
  };
}

test('HTTP/REST: every route but health refuses a caller without credentials (401) and one without the grant (403)', async () => {
  assert.ok(httpRoutes.length >= 30, `${httpRoutes.length} HTTP routes`);
  for (const route of httpRoutes) {
    const health = routeSpec(route)!.category === 'health';
    const anon = await httpProbe(route, undefined);
    if (health) assert.ok(anon.status !== 401 && anon.status !== 403, `${route} is open: ${JSON.stringify(anon)}`);
    else {
      assert.is(anon.status, 401, `${route}: ${JSON.stringify(anon)}`);
      assert.is(anon.auth, 'Bearer realm="inference"');
      assert.match(anon.error, /needs credentials/);
    }
    assert.is((await httpProbe(route, newApiKey())).status, 401, `${route}: an unknown key`);
    const nobody = await httpProbe(route, keys.nobody);
    if (health) assert.ok(nobody.status !== 403, route);
    else {
      assert.is(nobody.status, 403, `${route}: ${JSON.stringify(nobody)}`);
      assert.match(nobody.error, /principal 'nobody' does not have permission/);
    }
    const admin = await httpProbe(route, keys.admin, 'identity_fp32');
    assert.ok(admin.status !== 401 && admin.status !== 403, `${route} admits the administrator: ${JSON.stringify(admin)}`);
  }
});

test('HTTP/REST: grants on another model do not reach this one; lists are filtered', async () => {
  assert.is((await httpProbe('POST /v2/models/:model/infer', keys.other)).status, 403);
  assert.is((await httpProbe('GET /v2/models/:model/config', keys.simple)).status, 403);
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/v2/repository/index`, {
    method: 'POST',
    body: '{}',
    headers: { authorization: `Bearer ${keys.simple}` },
  });
  assert.equal(
    ((await res.json()) as Array<{ name: string }>).map((m) => m.name),
    ['simple'],
  );
});

async function scrape(key: string | undefined): Promise<{ status: number; body: string; auth: string | null }> {
  const res = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`, key ? { headers: { authorization: `Bearer ${key}` } } : {});
  return { status: res.status, body: await res.text(), auth: res.headers.get('www-authenticate') };
}

test('the metrics scrape: 401 without credentials, 403 without the grant, and only the visible models', async () => {
  const anon = await scrape(undefined);
  assert.is(anon.status, 401);
  assert.is(anon.auth, 'Bearer realm="metrics"');
  assert.is((await scrape(newApiKey())).status, 401);
  assert.is((await scrape(keys.nobody)).status, 403);
  const mine = await scrape(keys.simple);
  assert.is(mine.status, 200);
  assert.match(mine.body, /nv_inference_request_success\{model="simple"/);
  assert.not.match(mine.body, /model="add_version"/);
  const admin = await scrape(keys.admin);
  assert.match(admin.body, /model="add_version"/);
});

test('a changed policy file is applied; a broken one keeps the policy in use and says why', async () => {
  const since = server.lines.length;
  // Written aside and renamed over: the file is never seen half-written.
  writeFileSync(`${policyFile}.tmp`, policy('[inference, metadata, model-config, statistics, model-repository, metrics]'));
  renameSync(`${policyFile}.tmp`, policyFile);
  await server.waitForLine(/access policy reloaded \(file change\): 4 principals/, 10_000, since);
  const config = await probeRoute(client, '/inference.GRPCInferenceService/ModelConfig', 'simple', bearer(keys.simple));
  assert.is(config.code, 0, 'the new grant applies');

  const before = server.lines.length;
  writeFileSync(`${policyFile}.tmp`, 'principals:\n  - name: admin\n    api_key_sha256: "sha256:not-hex"\n');
  renameSync(`${policyFile}.tmp`, policyFile);
  const line = await server.waitForLine(/access policy not reloaded/, 10_000, before);
  assert.match(line, /api_key_sha256 must be/);
  assert.not.match(line, /not-hex/, 'the bad value is not echoed');
  const still = await probeRoute(client, '/inference.GRPCInferenceService/ModelConfig', 'simple', bearer(keys.simple));
  assert.is(still.code, 0, 'the policy in use stays');
  assert.is((await probeRoute(client, '/inference.GRPCInferenceService/ModelInfer', 'simple', bearer(keys.nobody))).code, grpc.status.PERMISSION_DENIED);
});

test('a load over the network is allowed by grant and audited with who asked', async () => {
  const { RepositoryModelLoadRequest } = await import('../../src/generated/inference/grpc_service.js');
  const load = (model: string, key: string) => probeRoute(client, '/inference.GRPCInferenceService/RepositoryModelLoad', model, bearer(key));
  assert.ok(RepositoryModelLoadRequest, 'the request type exists');
  assert.is((await load('simple', keys.simple)).code, 0);
  assert.is((await load('identity_fp32', keys.simple)).code, grpc.status.PERMISSION_DENIED);
});

test('SIGHUP re-reads the policy (the broken one is still there) and reopens the audit log after rotation', async () => {
  const since = server.lines.length;
  renameSync(auditFile, `${auditFile}.1`);
  server.child.kill('SIGHUP');
  await server.waitForLine(/access policy not reloaded \(SIGHUP\)/, 10_000, since);
  assert.is((await probeRoute(client, '/inference.GRPCInferenceService/ServerMetadata', '', bearer(keys.nobody))).code, grpc.status.PERMISSION_DENIED);
});

test('the audit trail, field by field, written when the server stops', async () => {
  await server.stop();
  const parse = (f: string) =>
    readFileSync(f, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const after = parse(auditFile);
  assert.is(statSync(auditFile).mode & 0o777, 0o600, 'the reopened file is private too');
  assert.ok(
    after.some((l) => l['event'] === 'access_denied' && l['route'] === '/inference.GRPCInferenceService/ServerMetadata'),
    'lines after SIGHUP go to the new file',
  );
  const lines = [...parse(`${auditFile}.1`), ...after];
  for (const l of lines) assert.match(String(l['time']), /^\d{4}-\d\d-\d\dT/);
  const text = readFileSync(`${auditFile}.1`, 'utf8') + readFileSync(auditFile, 'utf8');
  for (const k of Object.values(keys)) assert.not.ok(text.includes(k), 'no key is ever written');

  const start = lines.find((l) => l['event'] === 'server_start')!;
  assert.is(start['pid'], server.child.pid);

  const startupLoad = lines.find((l) => l['event'] === 'model_load' && l['model'] === 'simple')!;
  assert.equal(startupLoad['who'], { principal: '', via: 'server' });
  assert.is(startupLoad['outcome'], 'ok');
  assert.match(String(startupLoad['config_sha256']), /^[0-9a-f]{64}$/);
  assert.equal(startupLoad['versions'], [{ version: 1, state: 'READY' }]);

  const rpcLoad = lines.find((l) => l['event'] === 'model_load' && (l['who'] as Record<string, unknown>)['principal'] === 'simple-user')!;
  assert.is(rpcLoad['model'], 'simple');
  assert.is((rpcLoad['who'] as Record<string, unknown>)['via'], 'api-key');
  assert.is(rpcLoad['config_sha256'], startupLoad['config_sha256'], 'the same config, the same digest');

  const denial = lines.find(
    (l) => l['event'] === 'access_denied' && l['route'] === '/inference.GRPCInferenceService/ModelInfer' && l['model'] === 'add_version',
  )!;
  assert.is(denial['code'], 'PERMISSION_DENIED');
  assert.is((denial['who'] as Record<string, unknown>)['principal'], 'simple-user');
  assert.match(String(denial['reason']), /does not have permission 'inference' on model 'add_version'/);
  const anonymous = lines.find(
    (l) => l['event'] === 'access_denied' && l['code'] === 'UNAUTHENTICATED' && (l['who'] as Record<string, unknown>)['via'] === 'anonymous',
  );
  assert.ok(anonymous, 'anonymous refusals are audited');
  assert.match(String((anonymous['who'] as Record<string, unknown>)['peer']), /127\.0\.0\.1/);

  const reloads = lines.filter((l) => l['event'] === 'policy_reload');
  assert.equal(
    reloads.map((l) => l['outcome']),
    ['ok', 'failed', 'failed'],
  );
  assert.is(reloads[0]!['principals'], 4);

  const infer = lines.find((l) => l['event'] === 'infer' && l['outcome'] === 'ok')!;
  assert.is(infer['model'], 'simple');
  assert.is((infer['who'] as Record<string, unknown>)['principal'], 'simple-user');
  assert.is(lines.at(-1)!['event'], 'server_stop');
});

test.run();

const restricted = suite("tritonserver's restricted headers, one flag per transport");
let rserver: TestServer;

restricted.before(async () => {
  rserver = await startServer([
    '--model-control-mode=explicit',
    '--load-model=simple',
    '--http-restricted-api=inference:infer-key=http-secret',
    '--grpc-restricted-protocol=model-repository:admin-key=grpc-secret',
  ]);
});

restricted.after(async () => {
  await rserver?.stop();
});

const simpleJson = JSON.stringify({
  inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', shape: [1, 16], data: Array(16).fill(1) })),
});

restricted('--http-restricted-api: HTTP inference needs the header (403 in Triton words without it); gRPC inference stays open', async () => {
  const url = `http://127.0.0.1:${rserver.httpPort}/v2/models/simple/infer`;
  const refused = await fetch(url, { method: 'POST', body: simpleJson });
  assert.is(refused.status, 403);
  assert.is(((await refused.json()) as { error: string }).error, "This API is restricted, expecting header 'infer-key'");
  const wrong = await fetch(url, { method: 'POST', body: simpleJson, headers: { 'infer-key': 'http-secreT' } });
  assert.is(wrong.status, 403);
  await wrong.arrayBuffer();
  const ok = await fetch(url, { method: 'POST', body: simpleJson, headers: { 'infer-key': 'http-secret' } });
  assert.is(ok.status, 200, await ok.clone().text());
  await ok.arrayBuffer();
  const c = connect(rserver.address);
  try {
    const req = ModelInferRequest.fromPartial({
      modelName: 'simple',
      inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', shape: [1n, 16n] })),
      rawInputContents: [int32Buffer(Array(16).fill(1)), int32Buffer(Array(16).fill(1))],
    });
    assert.is((await call(c, c.modelInfer, req)).outputs.length, 2, 'gRPC inference is not restricted by the HTTP flag');
    const index = await callError(c, c.repositoryIndex, { repositoryName: '', ready: false });
    assert.is(index.code, grpc.status.UNAUTHENTICATED);
  } finally {
    c.close();
  }
  const httpIndex = await fetch(`http://127.0.0.1:${rserver.httpPort}/v2/repository/index`, { method: 'POST' });
  assert.is(httpIndex.status, 200, 'the gRPC flag does not restrict HTTP routes');
  await httpIndex.arrayBuffer();
});

restricted.run();
