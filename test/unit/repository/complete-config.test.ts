import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DataType, ModelInstanceGroup_Kind } from '../../../src/generated/inference/model_config.js';
import { ConfigError, parseModelConfig } from '../../../src/repository/config-file.js';
import { completeConfig, preCheck, type ModelIo } from '../../../src/repository/complete-config.js';
import { checkVersionPolicy, selectVersions } from '../../../src/repository/version-policy.js';

const opts = { autoComplete: true, defaultMaxBatchSize: 4 };
const identityIo: ModelIo = {
  inputs: [{ name: 'INPUT0', ortType: 'float32', shape: [-1, -1] }],
  outputs: [{ name: 'OUTPUT0', ortType: 'float32', shape: [-1, -1] }],
};
const cfg = (text: string, name = 'm') => preCheck(parseModelConfig(text, 'config.pbtxt'), name);

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ConfigError);
    return (err as Error).message;
  }
  assert.unreachable('expected a ConfigError');
  return '';
}

test('no policy serves the latest version; latest N, all and specific pick as Triton does', () => {
  assert.equal(selectVersions(undefined, [3, 1, 2]).load, [3]);
  assert.equal(selectVersions({ policyChoice: { $case: 'latest', value: { numVersions: 2 } } }, [1, 3, 2]).load, [2, 3]);
  assert.equal(selectVersions({ policyChoice: { $case: 'all', value: {} } }, [2, 1]).load, [1, 2]);
  assert.equal(selectVersions({ policyChoice: { $case: 'specific', value: { versions: [3, 1, 7] } } }, [1, 2, 3]), { load: [1, 3], missing: [7] });
  assert.equal(selectVersions(undefined, []).load, []);
});

test('invalid version policies are named', () => {
  assert.is(checkVersionPolicy({ policyChoice: { $case: 'latest', value: { numVersions: 0 } } }), 'version_policy.latest.num_versions must be at least 1');
  assert.match(checkVersionPolicy({ policyChoice: { $case: 'specific', value: { versions: [] } } }), /must name at least one version/);
  assert.is(checkVersionPolicy(undefined), '');
});

test('pre-check fills name, platform, backend, version policy and a CPU instance group', () => {
  const c = cfg('');
  assert.is(c.name, 'm');
  assert.is(c.platform, 'onnxruntime_onnx');
  assert.is(c.backend, 'onnxruntime');
  assert.equal(c.versionPolicy?.policyChoice, { $case: 'latest', value: { numVersions: 1 } });
  assert.is(c.instanceGroup.length, 1);
  assert.is(c.instanceGroup[0]!.kind, ModelInstanceGroup_Kind.KIND_CPU);
  assert.is(c.instanceGroup[0]!.count, 1);
});

test('pre-check refuses other platforms, a mismatched name and unsupported scheduling', () => {
  assert.match(
    configError(() => cfg('platform: "tensorflow_savedmodel"')),
    /platform 'tensorflow_savedmodel' is not served here/,
  );
  assert.match(
    configError(() => cfg('name: "other"')),
    /config name 'other' does not match the model folder 'm'/,
  );
  assert.match(
    configError(() => cfg('sequence_batching { }')),
    /sequence_batching is not implemented/,
  );
  assert.match(
    configError(() => cfg('max_batch_size: -1')),
    /max_batch_size must be 0 or more/,
  );
  assert.match(
    configError(() => cfg('instance_group [ { kind: KIND_CPU gpus: [0] } ]')),
    /KIND_CPU but lists gpus/,
  );
});

test('auto-complete fills everything from a model with dynamic batch dimensions', () => {
  const c = completeConfig(cfg(''), identityIo, opts);
  assert.is(c.maxBatchSize, 4);
  assert.is(c.schedulingChoice?.$case, 'dynamicBatching', 'a batch size set by auto-complete comes with dynamic batching');
  assert.equal(
    c.input.map((i) => [i.name, i.dataType, i.dims]),
    [['INPUT0', DataType.TYPE_FP32, [-1]]],
  );
  assert.equal(
    c.output.map((i) => [i.name, i.dataType, i.dims]),
    [['OUTPUT0', DataType.TYPE_FP32, [-1]]],
  );
});

test('auto-complete keeps max_batch_size 0 for a model with a fixed first dimension', () => {
  const io: ModelIo = { inputs: [{ name: 'x', ortType: 'int64', shape: [3] }], outputs: [{ name: 'y', ortType: 'int64', shape: [3] }] };
  const c = completeConfig(cfg(''), io, opts);
  assert.is(c.maxBatchSize, 0);
  assert.equal(c.input[0]!.dims, [3]);
  assert.is(c.input[0]!.dataType, DataType.TYPE_INT64);
});

test('auto-complete fills a partial config and keeps what it states', () => {
  const c = completeConfig(cfg('max_batch_size: 2 input [ { name: "INPUT0" dims: [ 7 ] } ]'), identityIo, opts);
  assert.is(c.maxBatchSize, 2);
  assert.is(c.input[0]!.dataType, DataType.TYPE_FP32);
  assert.equal(c.input[0]!.dims, [7]);
  assert.equal(c.output[0]!.dims, [-1]);
});

test('with auto-complete off, a config that leaves out outputs is an error', () => {
  const msg = configError(() =>
    completeConfig(cfg('max_batch_size: 2 input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]'), identityIo, { ...opts, autoComplete: false }),
  );
  assert.match(msg, /the config lists no outputs/);
});

test('config and model disagreements are named', () => {
  const both = (t: string) => configError(() => completeConfig(cfg(t), identityIo, opts));
  assert.match(
    both('max_batch_size: 2 input [ { name: "IN" data_type: TYPE_FP32 dims: [ -1 ] } ]'),
    /input 'IN' is not an input of the ONNX model, whose inputs are: INPUT0/,
  );
  assert.match(
    both('max_batch_size: 2 input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ -1 ] } ]'),
    /input 'INPUT0': config says TYPE_INT32 but the ONNX model has float32/,
  );
  assert.match(both('max_batch_size: 2 input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 2, 2 ] } ]'), /give rank 3, but the ONNX model has rank 2/);
  const fixed: ModelIo = { inputs: [{ name: 'x', ortType: 'float32', shape: [1, 4] }], outputs: [{ name: 'y', ortType: 'float32', shape: [1, 4] }] };
  assert.match(
    configError(() => completeConfig(cfg('max_batch_size: 8'), fixed, opts)),
    /max_batch_size > 0 needs a dynamic first dimension, but the ONNX model has 1/,
  );
  assert.match(
    configError(() => completeConfig(cfg('input [ { name: "x" data_type: TYPE_FP32 dims: [ 1, 5 ] } ]'), fixed, opts)),
    /config dims \[1,5\] do not match the ONNX model's \[1,4\]/,
  );
});

test.run();
