// The security flags: tritonserver's TLS and restricted-protocol flags, ours for metrics
// TLS, the access policy and the audit log; the warnings for set-ups open to the network.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { redactedArgs } from '../../../src/boot.js';
import { parseCli } from '../../../src/cli-options.js';
import { refused } from '../../helpers/cli-refused.js';
import { securityWarnings } from '../../../src/security/warnings.js';

test('without security flags the server is plaintext, open and unaudited', () => {
  const s = parseCli([]).security;
  assert.is(s.grpcTls, undefined);
  assert.is(s.metricsTls, undefined);
  assert.equal(s.restrictions, []);
  assert.is(s.accessPolicyFile, undefined);
  assert.is(s.auditLogFile, undefined);
  assert.is(s.auditInferSampleRate, 0);
});

test("TLS takes tritonserver's flags; the booleans take =true and =false", () => {
  const s = parseCli(['--grpc-use-ssl=true', '--grpc-server-cert=c.pem', '--grpc-server-key=k.pem']).security;
  assert.match(s.grpcTls!.cert, /\/c\.pem$/);
  assert.match(s.grpcTls!.key, /\/k\.pem$/);
  assert.is(s.grpcTls!.mutual, false);
  assert.is(parseCli(['--grpc-use-ssl=false']).security.grpcTls, undefined);
  assert.match(refused(['--grpc-use-ssl=maybe']), /--grpc-use-ssl must be true or false/);
});

test('mutual TLS implies TLS and needs the root certificate', () => {
  const s = parseCli(['--grpc-use-ssl-mutual=true', '--grpc-server-cert=c', '--grpc-server-key=k', '--grpc-root-cert=ca']).security;
  assert.is(s.grpcTls!.mutual, true);
  assert.match(s.grpcTls!.root!, /\/ca$/);
  assert.match(refused(['--grpc-use-ssl-mutual=true', '--grpc-server-cert=c', '--grpc-server-key=k']), /needs --grpc-root-cert/);
});

test('TLS without its files, or files without TLS, is refused at start', () => {
  assert.match(refused(['--grpc-use-ssl=true', '--grpc-server-cert=c']), /needs --grpc-server-cert and --grpc-server-key/);
  assert.match(refused(['--grpc-server-cert=c', '--grpc-server-key=k']), /need --grpc-use-ssl=true/);
  assert.match(refused(['--metrics-server-cert=c']), /need --metrics-use-ssl=true/);
});

test('metrics TLS uses the gRPC files unless given its own', () => {
  const shared = parseCli(['--grpc-use-ssl=true', '--grpc-server-cert=c', '--grpc-server-key=k', '--metrics-use-ssl=true']).security;
  assert.equal(shared.metricsTls, { ...shared.grpcTls!, mutual: false });
  const own = parseCli(['--metrics-use-ssl=true', '--metrics-server-cert=mc', '--metrics-server-key=mk']).security;
  assert.match(own.metricsTls!.cert, /\/mc$/);
  assert.match(refused(['--metrics-use-ssl=true']), /--metrics-use-ssl=true needs/);
});

test('restricted protocol: repeatable, checked, the value never echoed', () => {
  const s = parseCli(['--grpc-restricted-protocol=model-repository,model-config:admin=s3cret', '--grpc-restricted-protocol=inference:infer-key=k']).security;
  assert.is(s.restrictions.length, 2);
  assert.is(s.restrictions[0]!.header, 'triton-grpc-protocol-admin');
  assert.match(refused(['--grpc-restricted-protocol=model-repository']), /must be <category,...>:<key>=<value>/);
  const bad = refused(['--grpc-restricted-protocol=bogus:k=topsecret']);
  assert.match(bad, /'bogus' is not a category/);
  assert.not.match(bad, /topsecret/);
  assert.match(refused(['--grpc-restricted-protocol=inference:a=1', '--grpc-restricted-protocol=inference:b=2']), /restricted twice/);
});

test('restricted values are redacted from the audit trail in both the --flag=value and the --flag value forms', () => {
  const args = ['--grpc-restricted-protocol=inference:k=s3cret', '--http-restricted-api', 'health,metadata:h=t0psecret', '--model-repository', 'x:y=z'];
  const out = redactedArgs(args);
  assert.equal(out, [
    '--grpc-restricted-protocol=inference:k=<redacted>',
    '--http-restricted-api',
    'health,metadata:h=<redacted>',
    '--model-repository',
    'x:y=z',
  ]);
});

test('the audit sample rate is 0..1 and needs an audit log', () => {
  assert.is(parseCli(['--audit-log=a.jsonl', '--audit-log-infer-sample-rate=0.25']).security.auditInferSampleRate, 0.25);
  assert.match(refused(['--audit-log-infer-sample-rate=0.5']), /needs --audit-log/);
  for (const r of ['2', '-1', 'half', '0.5.1', '']) assert.match(refused(['--audit-log=a', `--audit-log-infer-sample-rate=${r}`]), /0\.\.1/);
});

test('the model key variable must be a variable name', () => {
  assert.is(parseCli(['--model-key-env=MODEL_KEYS']).security.modelKeys?.keyEnv, 'MODEL_KEYS');
  assert.match(refused(['--model-key-env=A-B;rm']), /takes the name of an environment variable/);
  const key = `k1:${'Q'.repeat(43)}=`;
  assert.not.ok(refused([`--model-key-env=${key}`]).includes('QQQQ'), 'a key given here is not echoed');
});

test('--require-encrypted-models needs model keys, and is off by default', () => {
  assert.is(parseCli([]).security.requireEncryptedModels, false);
  assert.match(refused(['--require-encrypted-models=true']), /needs the model keys: --model-key-file or --model-key-env/);
  assert.is(parseCli(['--require-encrypted-models=true', '--model-key-env=K']).security.requireEncryptedModels, true);
});

test('no policy on a reachable address warns; loopback does not; keys over plaintext warn', () => {
  assert.match(securityWarnings(parseCli([])).join('\n'), /no --access-policy: anyone who can reach 0\.0\.0\.0:8001/);
  assert.equal(securityWarnings(parseCli(['--grpc-address=127.0.0.1', '--metrics-address=127.0.0.1', '--http-address=127.0.0.1'])), []);
  assert.equal(securityWarnings(parseCli(['--grpc-address=::1', '--allow-metrics=false', '--allow-http=false'])), []);
  assert.match(
    securityWarnings(parseCli(['--grpc-address=127.0.0.1', '--metrics-address=127.0.0.1'])).join('\n'),
    /or 0\.0\.0\.0:8000/,
    'HTTP on every address counts',
  );
  const w = securityWarnings(parseCli(['--access-policy=p.yaml'])).join('\n');
  assert.match(w, /plaintext gRPC: API keys cross the network/);
  assert.match(w, /metrics endpoint is plaintext/);
  assert.match(w, /HTTP\/REST is plaintext/);
  assert.equal(
    securityWarnings(
      parseCli([
        '--access-policy=p.yaml',
        '--grpc-use-ssl=true',
        '--grpc-server-cert=c',
        '--grpc-server-key=k',
        '--metrics-use-ssl=true',
        '--allow-http=false',
      ]),
    ),
    [],
  );
});

test.run();
