import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DataType,
  ModelInput_Format,
  ModelInstanceGroup_Kind,
  ModelOptimizationPolicy_ModelPriority,
  ModelQueuePolicy_TimeoutAction,
  ModelSequenceBatching_Control_Kind,
  type ModelConfig,
} from '../../../src/generated/inference/model_config.js';
import { ConfigError, parseModelConfig } from '../../../src/repository/config-file.js';

const fixture = (name: string): ModelConfig => parseModelConfig(readFileSync(new URL(`../../fixtures/configs/${name}`, import.meta.url), 'utf8'), name);

function parseError(text: string): string {
  try {
    parseModelConfig(text, 'config.pbtxt');
  } catch (err) {
    assert.instance(err, ConfigError);
    return (err as Error).message;
  }
  throw new assert.Assertion({ message: 'expected a parse error', generated: false, operator: 'throws', expects: 'error', actual: 'none' });
}

test('parses the classic list form of inputs and outputs', () => {
  const c = fixture('01-classic.pbtxt');
  assert.is(c.name, 'classic');
  assert.is(c.maxBatchSize, 8);
  assert.equal(
    c.input.map((i) => [i.name, i.dataType, i.dims]),
    [
      ['INPUT0', DataType.TYPE_INT32, [16]],
      ['INPUT1', DataType.TYPE_INT32, [16]],
    ],
  );
  assert.is(c.output[0]!.name, 'OUTPUT0');
});

test('parses dynamic batching with priorities and queue policies in both map forms', () => {
  const c = fixture('02-dynamic-priority.pbtxt');
  assert.is(c.schedulingChoice?.$case, 'dynamicBatching');
  const d = c.schedulingChoice!.$case === 'dynamicBatching' ? c.schedulingChoice!.value : undefined;
  assert.ok(d);
  assert.equal(d.preferredBatchSize, [4, 8, 16]);
  assert.is(d.maxQueueDelayMicroseconds, 100);
  assert.is(d.preserveOrdering, true);
  assert.is(d.priorityLevels, 3);
  assert.is(d.defaultPriorityLevel, 2);
  assert.equal(d.defaultQueuePolicy, {
    timeoutAction: ModelQueuePolicy_TimeoutAction.REJECT,
    defaultTimeoutMicroseconds: 5000,
    allowTimeoutOverride: true,
    maxQueueSize: 64,
  });
  assert.is(d.priorityQueuePolicy[1]!.timeoutAction, ModelQueuePolicy_TimeoutAction.DELAY);
  assert.is(d.priorityQueuePolicy[1]!.maxQueueSize, 8);
  assert.is(d.priorityQueuePolicy[3]!.maxQueueSize, 2);
});

test('parses instance groups given as repeated keys and as a list', () => {
  const c = fixture('03-instance-groups.pbtxt');
  assert.is(c.instanceGroup.length, 3);
  const [gpu, cpu, auto] = c.instanceGroup;
  assert.is(gpu!.kind, ModelInstanceGroup_Kind.KIND_GPU);
  assert.equal(gpu!.gpus, [0, 1]);
  assert.is(gpu!.count, 2);
  assert.is(gpu!.rateLimiter!.priority, 2);
  assert.equal(
    gpu!.rateLimiter!.resources.map((r) => [r.name, r.global, r.count]),
    [
      ['R1', false, 4],
      ['R2', true, 1],
    ],
  );
  assert.is(cpu!.kind, ModelInstanceGroup_Kind.KIND_CPU);
  assert.is(cpu!.hostPolicy, 'cpu');
  assert.is(auto!.kind, ModelInstanceGroup_Kind.KIND_AUTO);
  assert.equal(auto!.profile, ['0', '1']);
});

test('parses the specific and latest version policies', () => {
  const s = fixture('04-version-specific.pbtxt').versionPolicy?.policyChoice;
  assert.equal(s, { $case: 'specific', value: { versions: [1, 3] } });
  const l = fixture('05-version-latest.pbtxt').versionPolicy?.policyChoice;
  assert.equal(l, { $case: 'latest', value: { numVersions: 2 } });
});

test('parses parameters given one by one and as a list', () => {
  const c = fixture('06-parameters.pbtxt');
  assert.equal(c.parameters, {
    intra_op_thread_count: { stringValue: '2' },
    replica_policy: { stringValue: 'round_robin' },
    execution_mode: { stringValue: '1' },
  });
});

test('parses model warmup with every kind of input data', () => {
  const c = fixture('07-warmup.pbtxt');
  assert.is(c.modelWarmup.length, 2);
  const [zeros, random] = c.modelWarmup;
  assert.is(zeros!.batchSize, 4);
  assert.is(zeros!.count, 3);
  assert.equal(zeros!.inputs['INPUT0']!.inputDataType, { $case: 'zeroData', value: true });
  assert.equal(zeros!.inputs['INPUT0']!.dims, [3, 48, 192]);
  assert.equal(random!.inputs['INPUT0']!.inputDataType, { $case: 'randomData', value: true });
  assert.equal(random!.inputs['TEXT']!.inputDataType, { $case: 'inputDataFile', value: 'text.bin' });
  assert.is(random!.inputs['TEXT']!.dataType, DataType.TYPE_STRING);
});

test('parses optimization settings with nested maps of strings', () => {
  const o = fixture('08-optimization.pbtxt').optimization!;
  assert.is(o.graph!.level, 1);
  assert.is(o.priority, ModelOptimizationPolicy_ModelPriority.PRIORITY_MAX);
  assert.is(o.cuda!.graphs, true);
  assert.is(o.cuda!.outputCopyStream, true);
  const trt = o.executionAccelerators!.gpuExecutionAccelerator[0]!;
  assert.is(trt.name, 'tensorrt');
  assert.equal(trt.parameters, { precision_mode: 'FP16', max_workspace_size_bytes: '1073741824' });
  assert.is(o.executionAccelerators!.cpuExecutionAccelerator[0]!.name, 'openvino');
  assert.is(o.inputPinnedMemory!.enable, false);
  assert.is(o.outputPinnedMemory!.enable, true);
  assert.is(o.eagerBatching, true);
});

test('accepts comments, angle brackets, semicolons, quotes, hex, enum numbers and joined strings', () => {
  const c = fixture('09-syntax-variants.pbtxt');
  assert.is(c.name, 'variants');
  assert.is(c.maxBatchSize, 16);
  const i = c.input[0]!;
  assert.is(i.name, 'INPUT');
  assert.is(i.dataType, DataType.TYPE_FP16);
  assert.is(i.format, ModelInput_Format.FORMAT_NHWC);
  assert.equal(i.dims, [-1, 3]);
  assert.is(i.allowRaggedBatch, true);
  assert.is(i.optional, true);
  const o = c.output[0]!;
  assert.is(o.name, 'OUT\t1');
  assert.is(o.dataType, DataType.TYPE_FP32);
  assert.equal(o.dims, [-1, 2]);
});

test('parses sequence batching with controls and state', () => {
  const c = fixture('10-sequence.pbtxt');
  assert.is(c.schedulingChoice?.$case, 'sequenceBatching');
  const s = c.schedulingChoice!.$case === 'sequenceBatching' ? c.schedulingChoice!.value : undefined;
  assert.ok(s);
  assert.is(s.maxSequenceIdleMicroseconds, 5000000);
  assert.is(s.strategyChoice?.$case, 'oldest');
  assert.is(s.controlInput[0]!.control[0]!.kind, ModelSequenceBatching_Control_Kind.CONTROL_SEQUENCE_START);
  assert.equal(s.controlInput[0]!.control[0]!.fp32FalseTrue, [0, 1]);
  assert.is(s.controlInput[1]!.control[0]!.dataType, DataType.TYPE_UINT64);
  assert.equal(s.state[0]!.initialState[0]!.stateData, { $case: 'zeroData', value: true });
});

test('parses ensemble steps with input and output maps', () => {
  const c = fixture('11-ensemble.pbtxt');
  const e = c.schedulingChoice!.$case === 'ensembleScheduling' ? c.schedulingChoice!.value : undefined;
  assert.ok(e);
  assert.is(e.step.length, 2);
  assert.is(e.step[0]!.modelVersion, -1);
  assert.equal(e.step[0]!.inputMap, { RAW: 'IMAGE' });
  assert.equal(e.step[1]!.outputMap, { probs: 'PROBS' });
});

test('parses the remaining top-level fields, batch inputs and metric histograms', () => {
  const c = fixture('12-everything-else.pbtxt');
  assert.is(c.backend, 'onnxruntime');
  assert.is(c.runtime, 'libtriton_onnxruntime.so');
  assert.is(c.defaultModelFilename, 'weights.onnx');
  assert.equal(c.ccModelFilenames, { '7.5': 'model_sm75.onnx' });
  assert.equal(c.metricTags, { team: 'search' });
  assert.is(c.responseCache!.enable, true);
  assert.equal(c.modelOperations!.opLibraryFilename, ['libcustom.so']);
  assert.equal(c.modelRepositoryAgents!.agents[0]!.parameters, { 'MD5:1/model.onnx': 'abc' });
  assert.equal(c.batchInput[0]!.targetName, ['LEN']);
  assert.equal(c.batchOutput[0]!.sourceInput, ['TEXT']);
  assert.equal(c.input[0]!.reshape, { shape: [] });
  assert.is(c.output[0]!.labelFilename, 'labels.txt');
  const h = c.modelMetrics!.metricControl[0]!.metricOptions;
  assert.equal(h, { $case: 'histogramOptions', value: { buckets: [1.5, 2, 40, -Infinity, Infinity] } });
});

test('an empty file is the default config', () => {
  const c = parseModelConfig('# nothing but a comment\n', 'config.pbtxt');
  assert.is(c.name, '');
  assert.is(c.maxBatchSize, 0);
  assert.equal(c.input, []);
});

test('an unknown field is an error naming the file, line, column and message type', () => {
  assert.is(parseError('name: "x"\ninput { name: "a" colour: 3 }'), "config.pbtxt:2:19: unknown field 'colour' in inference.ModelInput");
});

test('a syntax error names the line and column', () => {
  assert.match(parseError('name: "x"\nmax_batch_size 8'), /^config\.pbtxt:2:16: expected ':'/);
  assert.match(parseError('input { name: "a"'), /^config\.pbtxt:1:18: expected '}' to close ModelInput, found end of file/);
  assert.match(parseError('name: "unterminated\n'), /^config\.pbtxt:1:7: string literal is not closed/);
  assert.match(parseError('name: "x" @'), /^config\.pbtxt:1:11: unexpected character '@'/);
});

test('ill-typed values are errors', () => {
  assert.match(parseError('max_batch_size: "8"'), /1:17: expected an integer \(int32\), found string "8"/);
  assert.match(parseError('max_batch_size: 3000000000'), /3000000000 is out of range for int32/);
  assert.match(parseError('input { data_type: TYPE_FLOAT }'), /'TYPE_FLOAT' is not a value of enum DataType/);
  assert.match(parseError('dynamic_batching { preserve_ordering: maybe }'), /expected true or false/);
  assert.match(parseError('input { dims: [ 1, -2.5 ] }'), /expected an integer \(int64\), found '-2.5'/);
  assert.match(parseError('version_policy { latest { num_versions: -1 } }'), /-1 is out of range for uint32/);
});

test('a singular field given twice and two members of one oneof are errors', () => {
  assert.match(parseError('name: "a"\nname: "b"'), /2:1: field 'name' of inference.ModelConfig is given more than once/);
  assert.match(parseError('dynamic_batching { }\nensemble_scheduling { }'), /2:1: 'ensemble_scheduling' and 'dynamic_batching' are both set/);
});

test.run();
