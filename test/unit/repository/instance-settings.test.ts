import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, parseModelConfig } from '../../../src/repository/config-file.js';
import { preCheck } from '../../../src/repository/complete-config.js';
import { instanceSettings } from '../../../src/repository/instance-settings.js';

const settings = (text: string, cores = 2) => instanceSettings(preCheck(parseModelConfig(text, 'config.pbtxt'), 'm'), cores);

test('no instance_group means one CPU replica named as Triton names it', () => {
  const s = settings('');
  assert.equal(s.replicas, [{ name: 'm_0_0', kind: 'cpu', deviceId: -1 }]);
  assert.is(s.replicaPolicy, 'round_robin');
});

test('GPU groups give count replicas per listed GPU; AUTO and CPU groups keep their kind', () => {
  const s = settings(
    'instance_group [ { kind: KIND_GPU, count: 2, gpus: [0, 1] }, { kind: KIND_AUTO }, { name: "cpus" kind: KIND_CPU count: 2 rate_limiter { priority: 3 } } ]',
  );
  assert.equal(
    s.replicas.map((r) => `${r.name}:${r.kind}:${r.deviceId}`),
    ['m_0_0:gpu:0', 'm_0_1:gpu:0', 'm_0_2:gpu:1', 'm_0_3:gpu:1', 'm_1_0:auto:0', 'cpus_0:cpu:-1', 'cpus_1:cpu:-1'],
  );
  assert.equal(
    s.replicaInfos.map((r) => r.priority),
    [1, 1, 1, 1, 1, 3, 3],
  );
});

test('CPU replicas share the cores but one by default; parameters override', () => {
  assert.is(settings('instance_group [ { kind: KIND_CPU, count: 2 } ]', 8).session.intraOpNumThreads, 3);
  assert.is(settings('', 2).session.intraOpNumThreads, 1);
  assert.is(settings('', 16).session.intraOpNumThreads, 15);
  assert.is(settings('instance_group [ { kind: KIND_CPU, count: 4 } ]', 2).session.intraOpNumThreads, 1);
  const s = settings(
    'parameters { key: "intra_op_thread_count" value: { string_value: "3" } } parameters { key: "inter_op_thread_count" value: { string_value: "2" } } optimization { graph { level: -1 } }',
  );
  assert.equal(s.session, { intraOpNumThreads: 3, interOpNumThreads: 2, graphOptimizationLevel: 'disabled', allowSpinning: false });
});

test('pad_batches is auto unless set, and is checked', () => {
  assert.is(settings('').padBatches, 'auto');
  assert.is(settings('parameters { key: "pad_batches" value: { string_value: "true" } }').padBatches, 'on');
  assert.is(settings('parameters { key: "pad_batches" value: { string_value: "false" } }').padBatches, 'off');
  assert.throws(() => settings('parameters { key: "pad_batches" value: { string_value: "pow2" } }'), /pad_batches"\] must be auto, true or false, got 'pow2'/);
});

test('ORT pool threads do not spin unless allow_spinning says so', () => {
  assert.is(settings('').session.allowSpinning, false);
  assert.is(settings('parameters { key: "allow_spinning" value: { string_value: "true" } }').session.allowSpinning, true);
  assert.is(settings('parameters { key: "allow_spinning" value: { string_value: "0" } }').session.allowSpinning, false);
  assert.throws(() => settings('parameters { key: "allow_spinning" value: { string_value: "yes" } }'), /allow_spinning"\] must be true or false, got 'yes'/);
});

test('replica policy and breaker settings come from parameters and are checked', () => {
  const s = settings(
    'parameters { key: "replica_policy" value: { string_value: "least_loaded" } } parameters { key: "breaker_reset_timeout_ms" value: { string_value: "250" } }',
  );
  assert.is(s.replicaPolicy, 'least_loaded');
  assert.is(s.breaker.resetTimeoutMs, 250);
  assert.throws(
    () => settings('parameters { key: "replica_policy" value: { string_value: "random" } }'),
    (e: Error) => e instanceof ConfigError && /replica_policy"\] must be one of round_robin, least_loaded, priority, got 'random'/.test(e.message),
  );
  assert.throws(() => settings('parameters { key: "breaker_error_threshold_percentage" value: { string_value: "150" } }'), /at most 100/);
  assert.throws(() => settings('parameters { key: "intra_op_thread_count" value: { string_value: "two" } }'), /must be an integer of at least 0, got 'two'/);
});

test.run();
