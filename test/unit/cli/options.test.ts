import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MAX_MESSAGE_BYTES, parseCli } from '../../../src/cli-options.js';
import { refused } from '../../helpers/cli-refused.js';

test('defaults match tritonserver where it has the flag', () => {
  const o = parseCli([]);
  assert.is(o.grpcPort, 8001);
  assert.is(o.controlMode, 'none');
  assert.is(o.strictReadiness, true);
  assert.is(o.autoComplete, true);
  assert.is(o.defaultMaxBatchSize, 4);
  assert.is(o.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
  assert.is(o.exitTimeoutMs, 30000);
  assert.match(o.modelRepository, /model-repo$/);
  assert.ok(Object.isFrozen(o));
});

test('flags are read in both --flag=value and --flag value forms', () => {
  const o = parseCli([
    '--grpc-port=9001',
    '--model-control-mode',
    'explicit',
    '--load-model=a',
    '--load-model',
    'b',
    '--strict-readiness=false',
    '--disable-auto-complete-config',
    '--backend-config=onnxruntime,default-max-batch-size=16',
  ]);
  assert.is(o.grpcPort, 9001);
  assert.equal(o.loadModels, ['a', 'b']);
  assert.is(o.strictReadiness, false);
  assert.is(o.autoComplete, false);
  assert.is(o.defaultMaxBatchSize, 16);
});

test('poll mode rescans every --repository-poll-secs (tritonserver default 15)', () => {
  assert.is(parseCli(['--model-control-mode=poll']).repositoryPollMs, 15000);
  assert.is(parseCli(['--model-control-mode=poll', '--repository-poll-secs=0.5']).repositoryPollMs, 500);
});

test('compatibility flags with no effect are collected so the CLI can warn', () => {
  assert.equal(parseCli(['--http-thread-count=8', '--grpc-infer-allocation-pool-size=8']).ignored, ['http-thread-count', 'grpc-infer-allocation-pool-size']);
  assert.equal(parseCli(['--http-port=8000', '--allow-http=false']).ignored, [], 'the HTTP flags now do something');
  const m = parseCli(['--metrics-port=9102', '--allow-metrics=false']);
  assert.is(m.metricsPort, 9102);
  assert.is(m.allowMetrics, false);
  assert.is(parseCli([]).metricsPort, 8002);
});

test('--http-cors-origin takes exact origins only: no wildcard, no null, no path', () => {
  assert.equal(parseCli(['--http-cors-origin=https://app.example.com', '--http-cors-origin=http://localhost:3000']).security.httpCorsOrigins, [
    'https://app.example.com',
    'http://localhost:3000',
  ]);
  assert.equal(parseCli([]).security.httpCorsOrigins, []);
  assert.equal(parseCli(['--http-allowed-host=inference.example.com']).security.httpAllowedHosts, ['inference.example.com']);
  for (const bad of ['Inference.example.com', 'host:8000', '*.example.com', '', 'a..b']) {
    assert.match(refused([`--http-allowed-host=${bad}`]), /--http-allowed-host must be a host name/, bad);
  }
  for (const bad of [
    '*',
    'null',
    'https://app.example.com/',
    'https://app.example.com/path',
    'ftp://x.example',
    'app.example.com',
    'https://APP.example.com',
  ]) {
    assert.match(refused([`--http-cors-origin=${bad}`]), /--http-cors-origin must be an exact origin/, bad);
  }
});

test('bad values name the flag and the rule', () => {
  assert.is(refused(['--grpc-port=70000']), "--grpc-port must be an integer in 0..65535, got '70000'");
  assert.is(refused(['--model-control-mode=sometimes']), "--model-control-mode must be none, explicit or poll, got 'sometimes'");
  assert.match(refused(['--repository-poll-secs=0']), /--repository-poll-secs must be a number of seconds in 0\.1\.\.86400/);
  assert.is(refused(['--load-model=a']), '--load-model needs --model-control-mode=explicit');
  assert.match(refused(['--strict-readiness=perhaps']), /--strict-readiness must be true or false/);
  assert.match(refused(['--no-such-flag']), /Unknown option '--no-such-flag'/);
  assert.match(refused(['--backend-config=tensorflow,version=2']), /--backend-config must be onnxruntime,default-max-batch-size=N/);
});

test.run();
