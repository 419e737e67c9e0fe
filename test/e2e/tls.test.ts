// TLS and mutual TLS with real certificates (openssl) and real connections: grpc-js and
// Python grpcio clients, node:tls and https for the metrics endpoint. Certificates are
// rotated under an open stream; client certificates name principals of the policy.

import * as grpc from '@grpc/grpc-js';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest, ModelStreamInferResponse } from '../../src/generated/inference/grpc_service.js';
import { makeCerts, type Pair } from '../helpers/certs.js';
import { int32Buffer } from '../helpers/client.js';
import { bearer, probeRoute } from '../helpers/route-probe.js';
import { repoRoot, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const certs = makeCerts();
const dir = mkdtempSync(join(tmpdir(), 'triton-ts-tls-'));
// The server reads copies, so the test can rotate them.
const serverCert = join(dir, 'server.pem');
const serverKey = join(dir, 'server.key');
copyFileSync(certs.server.cert, serverCert);
copyFileSync(certs.server.key, serverKey);
const policyFile = join(dir, 'policy.yaml');
const auditFile = join(dir, 'audit.jsonl');
writeFileSync(
  policyFile,
  `principals:
  - name: cert-a
    certificate_subject: "CN=client-a,O=tests"
    grants:
      - categories: [inference, metadata, metrics]
        models: [simple]
`,
);

const ca = readFileSync(certs.ca.cert);
function tlsClient(port: number, client?: Pair): grpc.Client {
  const creds = grpc.credentials.createSsl(ca, client ? readFileSync(client.key) : null, client ? readFileSync(client.cert) : null);
  return new grpc.Client(`127.0.0.1:${port}`, creds);
}
const live = (c: grpc.Client) => probeRoute(c, '/inference.GRPCInferenceService/ServerLive', '', new grpc.Metadata(), 5000);
const inferSimple = (c: grpc.Client) => probeRoute(c, '/inference.GRPCInferenceService/ModelInfer', 'simple', new grpc.Metadata(), 5000);

const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import grpc'], { stdio: 'ignore' }).status === 0);
function pythonClient(port: number, args: string[]): { code: number | null; out: string } {
  assert.ok(python, "a python3 with Debian's python3-grpcio (.ci/run installs it)");
  const r = spawnSync(python!, [join(repoRoot, 'scripts', 'tls_client.py'), '--target', `127.0.0.1:${port}`, '--ca', certs.ca.cert, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const tls = suite('TLS: server certificate, optional client certificates naming principals, rotation');
let server: ServerProcess;

tls.before(async () => {
  server = await startServerProcess([
    '--model-control-mode=explicit',
    '--load-model=simple',
    '--grpc-use-ssl=true',
    `--grpc-server-cert=${serverCert}`,
    `--grpc-server-key=${serverKey}`,
    `--grpc-root-cert=${certs.ca.cert}`,
    '--metrics-use-ssl=true',
    `--access-policy=${policyFile}`,
    `--audit-log=${auditFile}`,
  ]);
});

tls.after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

tls('a client trusting the CA connects; health is open, inference needs a principal', async () => {
  const c = tlsClient(server.port);
  assert.is((await live(c)).code, 0);
  const r = await inferSimple(c);
  assert.is(r.code, grpc.status.UNAUTHENTICATED);
  assert.match(r.details, /no credentials were sent/);
  c.close();
});

tls('plaintext is refused on the TLS port', async () => {
  const c = new grpc.Client(server.address, grpc.credentials.createInsecure());
  assert.is((await live(c)).code, grpc.status.UNAVAILABLE);
  c.close();
});

tls('a verified client certificate is the principal its subject names', async () => {
  const c = tlsClient(server.port, certs.clientA);
  assert.is((await inferSimple(c)).code, 0);
  const other = await probeRoute(c, '/inference.GRPCInferenceService/ModelConfig', 'simple', new grpc.Metadata(), 5000);
  assert.is(other.code, grpc.status.PERMISSION_DENIED);
  assert.match(other.details, /principal 'cert-a' does not have permission 'model-config' on model 'simple'/);
  c.close();
});

tls("a certificate from another CA claiming client-a's subject is not client-a", async () => {
  const c = tlsClient(server.port, certs.intruder);
  const r = await inferSimple(c);
  assert.is(r.code, grpc.status.UNAUTHENTICATED);
  c.close();
});

tls('a verified certificate the policy does not name is anonymous, and told why', async () => {
  const c = tlsClient(server.port, certs.clientB);
  const r = await inferSimple(c);
  assert.is(r.code, grpc.status.UNAUTHENTICATED);
  assert.match(r.details, /subject 'CN=client-b,O=tests' is not in the access policy/);
  c.close();
});

function scrape(client?: Pair): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: server.metricsPort,
        path: '/metrics',
        ca,
        ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
      },
      (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => (body += d))
          .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject).end();
  });
}

tls('the metrics endpoint serves HTTPS with the same certificate; a client certificate is a principal there too', async () => {
  assert.is((await scrape()).status, 401);
  const mine = await scrape(certs.clientA);
  assert.is(mine.status, 200);
  assert.match(mine.body, /model="simple"/);
  const plain = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`).then(
    () => 'answered',
    () => 'refused',
  );
  assert.is(plain, 'refused', 'plain HTTP gets no answer from the HTTPS port');
});

function presentedCertificate(port: number, alpn = 'h2'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: [alpn] }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });
}

tls('rotated certificates are served to new connections while an open stream keeps going', async () => {
  const c = tlsClient(server.port, certs.clientA);
  const replies: ModelStreamInferResponse[] = [];
  let answered: () => void = () => undefined;
  const stream = c.makeBidiStreamRequest(
    '/inference.GRPCInferenceService/ModelStreamInfer',
    (m: ModelInferRequest) => Buffer.from(ModelInferRequest.encode(m).finish()),
    (b: Buffer) => ModelStreamInferResponse.decode(b),
    new grpc.Metadata(),
    {},
  );
  stream.on('data', (m: ModelStreamInferResponse) => {
    replies.push(m);
    answered();
  });
  let streamError = '';
  stream.on('error', (err: grpc.ServiceError) => (streamError ||= err.message));
  const send = (id: string): Promise<void> =>
    new Promise((resolve) => {
      answered = resolve;
      stream.write(
        ModelInferRequest.fromPartial({
          modelName: 'simple',
          id,
          inputs: [
            { name: 'INPUT0', datatype: 'INT32', shape: [1n, 16n] },
            { name: 'INPUT1', datatype: 'INT32', shape: [1n, 16n] },
          ],
          rawInputContents: [int32Buffer(Array(16).fill(2)), int32Buffer(Array(16).fill(1))],
        }),
      );
    });
  await send('before');
  const original = new X509Certificate(readFileSync(certs.server.cert)).fingerprint256;
  const rotated = new X509Certificate(readFileSync(certs.serverRotated.cert)).fingerprint256;
  assert.is(await presentedCertificate(server.port), original);

  const since = server.lines.length;
  copyFileSync(certs.serverRotated.key, `${serverKey}.tmp`);
  copyFileSync(certs.serverRotated.cert, `${serverCert}.tmp`);
  renameSync(`${serverKey}.tmp`, serverKey);
  renameSync(`${serverCert}.tmp`, serverCert);
  await server.waitForLine(/gRPC TLS certificates reloaded \(file change\)/, 15_000, since);
  assert.is(await presentedCertificate(server.port), rotated, 'a new connection gets the new certificate');
  assert.is(await presentedCertificate(server.metricsPort, 'http/1.1'), rotated, 'so does the metrics endpoint');

  await send('after');
  assert.equal(
    replies.map((r) => [r.inferResponse?.id, r.errorMessage]),
    [
      ['before', ''],
      ['after', ''],
    ],
    'the stream opened before the rotation still serves',
  );
  assert.is(streamError, '');
  stream.end();
  c.close();
});

tls('a broken certificate file keeps the certificate in use and says why', async () => {
  const since = server.lines.length;
  writeFileSync(`${serverCert}.tmp`, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
  renameSync(`${serverCert}.tmp`, serverCert);
  const line = await server.waitForLine(/gRPC TLS certificates not reloaded/, 15_000, since);
  assert.match(line, /server\.pem is not a PEM certificate/);
  const rotated = new X509Certificate(readFileSync(certs.serverRotated.cert)).fingerprint256;
  assert.is(await presentedCertificate(server.port), rotated);
  const c = tlsClient(server.port);
  assert.is((await live(c)).code, 0);
  c.close();
});

tls('Python grpcio connects with the CA, and with a client certificate is a principal', async () => {
  const anon = pythonClient(server.port, ['--expect-fail', 'UNAUTHENTICATED']);
  assert.is(anon.code, 0, anon.out);
  assert.match(anon.out, /ServerLive live=True/);
  const named = pythonClient(server.port, ['--cert', certs.clientA.cert, '--key', certs.clientA.key]);
  assert.is(named.code, 0, named.out);
  assert.match(named.out, /ModelMetadata name=simple/);
});

tls('the audit trail records both certificate reloads', async () => {
  await server.stop();
  const lines = readFileSync(auditFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const reloads = lines.filter((l) => l['event'] === 'certificate_reload');
  assert.equal(
    reloads.map((l) => [l['what'], l['outcome']]),
    [
      ['gRPC TLS', 'ok'],
      ['gRPC TLS', 'failed'],
    ],
  );
  assert.is(reloads[0]!['fingerprint256'], new X509Certificate(readFileSync(certs.serverRotated.cert)).fingerprint256);
  assert.match(String(reloads[1]!['reason']), /not a PEM certificate/);
});

tls.run();

const mtls = suite('mutual TLS: a client certificate from the CA is required; restricted protocol on top');
let mserver: ServerProcess;

mtls.before(async () => {
  mserver = await startServerProcess([
    '--model-control-mode=explicit',
    '--load-model=simple',
    '--allow-metrics=false',
    '--grpc-use-ssl-mutual=true',
    `--grpc-server-cert=${certs.server.cert}`,
    `--grpc-server-key=${certs.server.key}`,
    `--grpc-root-cert=${certs.ca.cert}`,
    '--grpc-restricted-protocol=model-repository,model-config:admin-key=s3cret value',
  ]);
});

mtls.after(async () => {
  await mserver?.stop();
});

mtls('no client certificate, or one from another CA: the handshake fails', async () => {
  for (const client of [undefined, certs.intruder]) {
    const c = tlsClient(mserver.port, client);
    assert.is((await live(c)).code, grpc.status.UNAVAILABLE);
    c.close();
  }
});

mtls("a certificate from the server's CA is let in", async () => {
  const c = tlsClient(mserver.port, certs.clientB);
  assert.is((await live(c)).code, 0);
  assert.is((await inferSimple(c)).code, 0);
  c.close();
});

mtls("restricted categories need tritonserver's header with the right value", async () => {
  const c = tlsClient(mserver.port, certs.clientA);
  const route = '/inference.GRPCInferenceService/RepositoryIndex';
  const none = await probeRoute(c, route, '', new grpc.Metadata(), 5000);
  assert.is(none.code, grpc.status.UNAUTHENTICATED);
  assert.is(none.details, "This protocol is restricted, expecting header 'triton-grpc-protocol-admin-key'");
  assert.is((await probeRoute(c, route, '', bearer(undefined, { 'triton-grpc-protocol-admin-key': 's3cret' }), 5000)).code, grpc.status.UNAUTHENTICATED);
  assert.is((await probeRoute(c, route, '', bearer(undefined, { 'triton-grpc-protocol-admin-key': 's3cret value' }), 5000)).code, 0);
  assert.is((await probeRoute(c, '/inference.GRPCInferenceService/ModelConfig', 'simple', new grpc.Metadata(), 5000)).code, grpc.status.UNAUTHENTICATED);
  assert.is((await inferSimple(c)).code, 0, 'inference is not restricted');
  c.close();
});

mtls('Python grpcio: refused without a client certificate, served with one', async () => {
  const refused = pythonClient(mserver.port, ['--expect-fail', 'UNAVAILABLE']);
  assert.is(refused.code, 0, refused.out);
  const served = pythonClient(mserver.port, ['--cert', certs.clientA.cert, '--key', certs.clientA.key]);
  assert.is(served.code, 0, served.out);
  assert.match(served.out, /ServerLive live=True\nModelMetadata name=simple/);
});

mtls.run();

const startup = suite('TLS files at start-up');

// The last suite of this file: the certificates go with it.
startup.after(() => rmSync(certs.dir, { recursive: true, force: true }));

startup('a missing or mismatched certificate or key fails start-up with exit 2 and names the file', async () => {
  const fails = (args: string[]): Promise<string> =>
    startServerProcess(['--model-control-mode=explicit', '--grpc-use-ssl=true', ...args], 30_000).then(
      async (s) => {
        await s.stop();
        return 'the server started';
      },
      (e: Error) => e.message,
    );
  const missing = await fails([`--grpc-server-cert=${join(tmpdir(), 'absent.pem')}`, `--grpc-server-key=${certs.server.key}`]);
  assert.match(missing, /server exited \(2\)/);
  assert.match(missing, /error: gRPC TLS: cannot read the server certificate file absent\.pem \(ENOENT\)/);
  const mismatched = await fails([`--grpc-server-cert=${certs.server.cert}`, `--grpc-server-key=${certs.clientA.key}`]);
  assert.match(mismatched, /server exited \(2\)/);
  assert.match(mismatched, /error: gRPC TLS: \S+ is not the key of \S+/);
});

startup.run();
