import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DataType,
  ModelConfig,
  ModelInstanceGroup_Kind,
  ModelQueuePolicy_TimeoutAction,
  type DeepPartial,
  type ModelDynamicBatching,
  type ModelWarmup,
} from '../../../src/generated/inference/model_config.js';
import { ConfigError } from '../../../src/repository/config-file.js';
import { DEFAULT_CONFIG_LIMITS, validateConfig, type ConfigLimits } from '../../../src/repository/validate-config.js';

const { KIND_CPU, KIND_GPU } = ModelInstanceGroup_Kind;
const { REJECT, DELAY } = ModelQueuePolicy_TimeoutAction;

const batching = (value: DeepPartial<ModelDynamicBatching>) => ({ $case: 'dynamicBatching' as const, value });
const sample = (w: DeepPartial<ModelWarmup> = {}): DeepPartial<ModelWarmup> => ({
  name: 'zeros',
  batchSize: 1,
  inputs: { INPUT0: { dataType: DataType.TYPE_FP32, dims: [4], inputDataType: { $case: 'zeroData', value: true } } },
  ...w,
});

function check(partial: DeepPartial<ModelConfig>, limits: ConfigLimits = DEFAULT_CONFIG_LIMITS): void {
  validateConfig(ModelConfig.fromPartial({ name: 'm', maxBatchSize: 8, ...partial }), 'm', limits);
}

/** The message of the ConfigError `check` throws; it must name the model. */
function refusal(partial: DeepPartial<ModelConfig>, limits: ConfigLimits = DEFAULT_CONFIG_LIMITS): string {
  try {
    check(partial, limits);
  } catch (err) {
    assert.instance(err, ConfigError);
    const message = (err as Error).message;
    assert.ok(message.startsWith("model 'm': "), message);
    return message;
  }
  assert.unreachable('expected a ConfigError');
  return '';
}

test('accepts a full config within every rule and limit', () => {
  check({
    schedulingChoice: batching({
      preferredBatchSize: [4, 8],
      maxQueueDelayMicroseconds: 500,
      priorityLevels: 2,
      defaultPriorityLevel: 2,
      defaultQueuePolicy: { timeoutAction: DELAY, defaultTimeoutMicroseconds: 100_000, allowTimeoutOverride: true, maxQueueSize: 64 },
      priorityQueuePolicy: { 1: { timeoutAction: REJECT, defaultTimeoutMicroseconds: 3_600_000_000 } },
    }),
    instanceGroup: [
      { name: 'cpu', kind: KIND_CPU, count: 2 },
      { kind: KIND_GPU, count: 3, gpus: [0, 1] },
    ],
    modelWarmup: [
      sample(),
      sample({
        name: 'random',
        batchSize: 8,
        count: 5,
        inputs: { INPUT0: { dataType: DataType.TYPE_INT64, dims: [2, 3], inputDataType: { $case: 'randomData', value: true } } },
      }),
      sample({
        name: 'file',
        inputs: { INPUT0: { dataType: DataType.TYPE_STRING, dims: [1], inputDataType: { $case: 'inputDataFile', value: 'input0.bin' } } },
      }),
    ],
  });
});

test('accepts DELAY with preserve_ordering when no default timeout is set, as Triton does', () => {
  check({ schedulingChoice: batching({ preserveOrdering: true, defaultQueuePolicy: { timeoutAction: DELAY, allowTimeoutOverride: true } }) });
});

test('refuses a max_queue_delay_microseconds above the timeout limit', () => {
  const message = refusal({ schedulingChoice: batching({ maxQueueDelayMicroseconds: 3_600_000_001 }) });
  assert.match(message, 'dynamic_batching.max_queue_delay_microseconds must be a whole number of microseconds in 0..3600000000');
});

test('refuses a default_timeout_microseconds above the timeout limit, in the default and in a level policy', () => {
  const limits = { ...DEFAULT_CONFIG_LIMITS, maxTimeoutUs: 1000 };
  assert.match(
    refusal({ schedulingChoice: batching({ defaultQueuePolicy: { defaultTimeoutMicroseconds: 1001 } }) }, limits),
    'dynamic_batching.default_queue_policy.default_timeout_microseconds',
  );
  const levels = batching({ priorityLevels: 2, defaultPriorityLevel: 1, priorityQueuePolicy: { 2: { defaultTimeoutMicroseconds: 5000 } } });
  assert.match(refusal({ schedulingChoice: levels }, limits), 'dynamic_batching.priority_queue_policy[2].default_timeout_microseconds');
});

test('refuses a fractional priority_levels that the range checks would let through', () => {
  assert.match(refusal({ schedulingChoice: batching({ priorityLevels: 1.5 }) }), 'dynamic_batching.priority_levels must be a whole number');
  assert.match(refusal({ schedulingChoice: batching({ defaultPriorityLevel: Number.NaN }) }), 'dynamic_batching.default_priority_level must be a whole number');
});

test('refuses an unknown timeout action', () => {
  const message = refusal({ schedulingChoice: batching({ defaultQueuePolicy: { timeoutAction: ModelQueuePolicy_TimeoutAction.UNRECOGNIZED } }) });
  assert.match(message, 'dynamic_batching.default_queue_policy.timeout_action must be REJECT or DELAY');
});

test('refuses a negative max_queue_size', () => {
  assert.match(
    refusal({ schedulingChoice: batching({ defaultQueuePolicy: { maxQueueSize: -1 } }) }),
    'dynamic_batching.default_queue_policy.max_queue_size must be a whole number of 0 or more',
  );
});

test('refuses more than one priority level with preserve_ordering', () => {
  const message = refusal({ schedulingChoice: batching({ preserveOrdering: true, priorityLevels: 2, defaultPriorityLevel: 1 }) });
  assert.match(message, 'dynamic_batching.priority_levels is 2, but preserve_ordering allows only one priority level');
});

test('refuses a DELAY timeout action with preserve_ordering', () => {
  const message = refusal({
    schedulingChoice: batching({ preserveOrdering: true, defaultQueuePolicy: { timeoutAction: DELAY, defaultTimeoutMicroseconds: 1000 } }),
  });
  assert.match(
    message,
    'dynamic_batching.default_queue_policy.timeout_action may not be DELAY with a default_timeout_microseconds when preserve_ordering is true',
  );
});

test('refuses a DELAY timeout action with preserve_ordering in a priority level policy', () => {
  const db = batching({
    preserveOrdering: true,
    priorityLevels: 1,
    defaultPriorityLevel: 1,
    priorityQueuePolicy: { 1: { timeoutAction: DELAY, defaultTimeoutMicroseconds: 1 } },
  });
  assert.match(refusal({ schedulingChoice: db }), 'dynamic_batching.priority_queue_policy[1].timeout_action may not be DELAY');
});

test('refuses an unknown instance group kind', () => {
  assert.match(refusal({ instanceGroup: [{ kind: ModelInstanceGroup_Kind.UNRECOGNIZED }] }), 'instance_group[0].kind must be KIND_AUTO, KIND_GPU or KIND_CPU');
});

test('refuses two instance groups with the same name, given or defaulted', () => {
  assert.match(
    refusal({
      instanceGroup: [
        { name: 'a', kind: KIND_CPU },
        { name: 'a', kind: KIND_CPU },
      ],
    }),
    "instance_group[1].name 'a' is already the name of instance_group[0]",
  );
  assert.match(
    refusal({ instanceGroup: [{ kind: KIND_CPU }, { name: 'm_0', kind: KIND_CPU }] }),
    "instance_group[1].name 'm_0' is already the name of instance_group[0]",
  );
});

test('refuses a fractional instance count', () => {
  assert.match(refusal({ instanceGroup: [{ kind: KIND_CPU, count: 1.5 }] }), 'instance_group[0].count must be a whole number, got 1.5');
});

test('refuses an instance count above the limit', () => {
  assert.match(refusal({ instanceGroup: [{ kind: KIND_CPU, count: 65 }] }), 'instance_group[0].count 65 exceeds the limit of 64 instances a model');
});

test('refuses instance groups whose counts over their GPUs add up past the limit', () => {
  const message = refusal(
    {
      instanceGroup: [
        { kind: KIND_CPU, count: 4 },
        { kind: KIND_GPU, count: 4, gpus: [0, 1] },
      ],
    },
    { ...DEFAULT_CONFIG_LIMITS, maxInstanceCount: 10 },
  );
  assert.match(message, 'instance_group[1].count brings the model to 12 instances');
});

test('refuses a negative GPU id', () => {
  assert.match(refusal({ instanceGroup: [{ kind: KIND_GPU, gpus: [0, -1] }] }), 'instance_group[0].gpus[1] must be a GPU id of 0 or more, got -1');
});

test('refuses more warmup samples than the limit', () => {
  const limits = { ...DEFAULT_CONFIG_LIMITS, maxWarmupSamples: 1 };
  assert.match(refusal({ modelWarmup: [sample({ name: 'a' }), sample({ name: 'b' })] }, limits), 'model_warmup lists 2 samples, more than the limit of 1');
});

test('refuses a warmup sample without a name', () => {
  assert.match(refusal({ modelWarmup: [sample({ name: '' })] }), 'model_warmup[0].name must not be empty');
});

test('refuses a warmup batch_size above the limit', () => {
  assert.match(
    refusal({ maxBatchSize: 4096, modelWarmup: [sample({ batchSize: 1025 })] }),
    'model_warmup[0].batch_size must be a whole number of at most 1024, got 1025',
  );
});

test('refuses a warmup count above the limit', () => {
  assert.match(refusal({ modelWarmup: [sample({ count: 1001 })] }), 'model_warmup[0].count must be a whole number of at most 1000, got 1001');
});

test('refuses a warmup input without a data_type', () => {
  const inputs = { INPUT0: { dims: [4], inputDataType: { $case: 'zeroData' as const, value: true } } };
  assert.match(refusal({ modelWarmup: [sample({ inputs })] }), 'model_warmup[0].inputs["INPUT0"].data_type must be set');
});

test('refuses a warmup input of a data_type not served here', () => {
  const inputs = { INPUT0: { dataType: DataType.TYPE_BF16, dims: [4], inputDataType: { $case: 'zeroData' as const, value: true } } };
  assert.match(refusal({ modelWarmup: [sample({ inputs })] }), 'model_warmup[0].inputs["INPUT0"].data_type TYPE_BF16 is not supported');
});

test('refuses a variable dimension in warmup dims', () => {
  const inputs = { INPUT0: { dataType: DataType.TYPE_FP32, dims: [4, -1], inputDataType: { $case: 'zeroData' as const, value: true } } };
  assert.match(refusal({ modelWarmup: [sample({ inputs })] }), 'model_warmup[0].inputs["INPUT0"].dims[1] must be a fixed size of 0 or more');
});

test('refuses a warmup input that sets none of zero_data, random_data or input_data_file', () => {
  const inputs = { INPUT0: { dataType: DataType.TYPE_FP32, dims: [4] } };
  assert.match(refusal({ modelWarmup: [sample({ inputs })] }), 'model_warmup[0].inputs["INPUT0"] must set one of zero_data, random_data or input_data_file');
});

test('refuses a warmup sample whose inputs pass the byte limit, batch copies included', () => {
  const limits = { ...DEFAULT_CONFIG_LIMITS, maxWarmupBytes: 1000 };
  const two = {
    A: { dataType: DataType.TYPE_FP32, dims: [100], inputDataType: { $case: 'zeroData' as const, value: true } },
    B: { dataType: DataType.TYPE_STRING, dims: [10], inputDataType: { $case: 'randomData' as const, value: true } },
  };
  check({ modelWarmup: [sample({ batchSize: 2, inputs: two })] }, limits);
  assert.match(
    refusal({ modelWarmup: [sample({ batchSize: 3, inputs: two })] }, limits),
    'model_warmup[0].inputs["A"].dims bring the sample\'s inputs to more than the limit of 1000 bytes',
  );
  const huge = { A: { dataType: DataType.TYPE_FP64, dims: [2 ** 40, 2 ** 40], inputDataType: { $case: 'zeroData' as const, value: true } } };
  assert.match(refusal({ modelWarmup: [sample({ inputs: huge })] }), 'model_warmup[0].inputs["A"].dims bring the sample');
});

test('refuses an input_data_file that is absolute, climbs out of the warmup folder or holds control characters', () => {
  const withFile = (value: string) => ({
    modelWarmup: [sample({ inputs: { INPUT0: { dataType: DataType.TYPE_FP32, dims: [4], inputDataType: { $case: 'inputDataFile' as const, value } } } })],
  });
  const field = 'model_warmup[0].inputs["INPUT0"].input_data_file';
  for (const bad of ['../../etc/passwd', '/etc/passwd', 'a/../../b', 'a\\b', '..', '.', 'a//b', '', 'a\nb']) {
    assert.match(refusal(withFile(bad)), `${field} path`, JSON.stringify(bad));
  }
  assert.not.match(refusal(withFile('a\nb')), '\n', 'the control character is escaped in the message');
  check(withFile('sub/sample.bin'));
});

test('refuses a label_filename that leads outside the model folder', () => {
  const withLabel = (labelFilename: string) => ({ output: [{ name: 'OUTPUT0', dataType: DataType.TYPE_FP32, dims: [4], labelFilename }] });
  assert.match(refusal(withLabel('../../etc/passwd')), 'output[0].label_filename path');
  assert.match(refusal(withLabel('/etc/passwd')), 'output[0].label_filename path');
  check(withLabel('labels.txt'));
});

test('refuses a max_batch_size or dims that are not whole numbers (a lenient JSON override)', () => {
  assert.match(refusal({ maxBatchSize: NaN }), 'max_batch_size must be a whole number');
  assert.match(refusal({ input: [{ name: 'INPUT0', dataType: DataType.TYPE_FP32, dims: [NaN] }] }), 'input[0].dims[0] must be -1 or a whole number');
  assert.match(refusal({ output: [{ name: 'O', dataType: DataType.TYPE_FP32, dims: [2 ** 40] }] }), 'output[0].dims[0]');
});

test.run();
