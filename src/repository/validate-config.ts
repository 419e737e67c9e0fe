// Load-time rules for dynamic_batching, its queue policies, instance_group and
// model_warmup: the ones tritonserver applies (model_config_utils.cc in Triton core, and the
// warmup sample builder in backend_model_instance.cc), plus this server's own bounds on the
// values that size threads, timers and memory. It reads only the parsed config, so it runs
// before any model file is opened; call it after preCheck and before instanceSettings,
// which allocates one entry per instance.
//
// Enforced elsewhere, so not repeated here:
// - preCheck (complete-config.ts): config name equals the folder name; max_batch_size >= 0;
//   instance_group count >= 0 (0 becomes 1); KIND_CPU with gpus; KIND_MODEL.
// - batchingPolicy (batching/policy.ts): preferred_batch_size in 1..max_batch_size;
//   priority_levels <= 1e6; default_priority_level and priority_queue_policy keys in
//   1..priority_levels (and unset when priority_levels is 0).
// - checkWarmup (warmup.ts, after auto-complete, since max_batch_size may change there):
//   batch_size >= 1, == 1 without batching, <= max_batch_size; inputs are model inputs;
//   every required input has data; the data file exists.

import {
  DataType,
  ModelInstanceGroup_Kind,
  ModelQueuePolicy_TimeoutAction,
  type ModelConfig,
  type ModelDynamicBatching,
  type ModelQueuePolicy,
  type ModelWarmup,
} from '../generated/inference/model_config.js';
import { datatypeByConfigEnum } from '../tensor/datatype.js';
import { ConfigError } from './config-file.js';
import { relativeSegments } from './safe-path.js';

/** This server's ceilings on config values Triton leaves unbounded. */
export interface ConfigLimits {
  /**
   * Instances one model may start, summed over its groups (count for each listed GPU).
   * Each instance is a worker thread holding its own ONNX Runtime session.
   */
  maxInstanceCount: number;
  /**
   * Ceiling of max_queue_delay_microseconds and of every default_timeout_microseconds.
   * Must stay below Node's timer limit (2^31 - 1 ms, about 24.8 days): a longer setTimeout
   * fires after 1 ms, which would turn a long delay into none.
   */
  maxTimeoutUs: number;
  /** model_warmup entries. */
  maxWarmupSamples: number;
  /** model_warmup batch_size. */
  maxWarmupBatchSize: number;
  /** model_warmup count: runs of one sample on each instance. */
  maxWarmupCount: number;
  /**
   * Bytes of one warmup run's inputs, batch copies included (the buffers warmupInputs
   * allocates). STRING inputs count 4 bytes an element, their zero data.
   */
  maxWarmupBytes: number;
}

export const DEFAULT_CONFIG_LIMITS: Readonly<ConfigLimits> = Object.freeze({
  maxInstanceCount: 64,
  // One hour: queue delays are milliseconds in practice and a queue timeout over an hour
  // is a mistake, while an hour sits far below the timer limit above.
  maxTimeoutUs: 3_600_000_000,
  maxWarmupSamples: 32,
  maxWarmupBatchSize: 1024,
  maxWarmupCount: 1000,
  maxWarmupBytes: 256 * 1024 * 1024,
});

/** Builds the error for one field; the message reads "model 'm': <field> <rule>". */
type Bad = (field: string, rule: string) => ConfigError;

const INT32_MAX = 2 ** 31 - 1;

/** Throws a ConfigError naming the model, the field and the rule for the first problem found. */
export function validateConfig(config: ModelConfig, model: string, limits: ConfigLimits): void {
  const bad: Bad = (field, rule) => new ConfigError(`model '${model}': ${field} ${rule}`);
  // A JSON override is read leniently by the generated fromJSON ("eight" becomes NaN):
  // the numbers everything else sizes from are checked to be whole here.
  if (!Number.isSafeInteger(config.maxBatchSize) || config.maxBatchSize < 0)
    throw bad('max_batch_size', `must be a whole number of 0 or more, got ${config.maxBatchSize}`);
  for (const [kind, list] of [
    ['input', config.input],
    ['output', config.output],
  ] as const) {
    list.forEach((t, i) =>
      t.dims.forEach((d, j) => {
        if (!Number.isSafeInteger(d) || d < -1 || d > 2 ** 31 - 1)
          throw bad(`${kind}[${i}].dims[${j}]`, `must be -1 or a whole number in 0..2147483647, got ${d}`);
      }),
    );
  }
  const sc = config.schedulingChoice;
  if (sc?.$case === 'dynamicBatching') checkDynamicBatching(sc.value, limits, bad);
  checkInstanceGroups(config, model, limits, bad);
  checkWarmupSamples(config.modelWarmup, limits, bad);
  // Labels are not read by this server (no classification output), but a path a config
  // names must still be one that stays inside the model folder.
  config.output.forEach((o, i) => {
    if (o.labelFilename === '') return;
    try {
      relativeSegments(o.labelFilename, 'path');
    } catch (err) {
      throw bad(`output[${i}].label_filename`, (err as Error).message);
    }
  });
}

function checkDynamicBatching(db: ModelDynamicBatching, limits: ConfigLimits, bad: Bad): void {
  const f = 'dynamic_batching';
  checkMicros(db.maxQueueDelayMicroseconds, `${f}.max_queue_delay_microseconds`, limits, bad);
  // Ranges are batchingPolicy's; a JSON override can still carry fractions or NaN, which
  // its comparisons would let through.
  checkWhole(db.priorityLevels, `${f}.priority_levels`, bad);
  checkWhole(db.defaultPriorityLevel, `${f}.default_priority_level`, bad);

  const policies: Array<[string, ModelQueuePolicy]> = [];
  if (db.defaultQueuePolicy) policies.push([`${f}.default_queue_policy`, db.defaultQueuePolicy]);
  for (const [level, p] of Object.entries(db.priorityQueuePolicy)) policies.push([`${f}.priority_queue_policy[${level}]`, p]);
  for (const [field, p] of policies) {
    if (p.timeoutAction !== ModelQueuePolicy_TimeoutAction.REJECT && p.timeoutAction !== ModelQueuePolicy_TimeoutAction.DELAY) {
      throw bad(`${field}.timeout_action`, 'must be REJECT or DELAY');
    }
    checkMicros(p.defaultTimeoutMicroseconds, `${field}.default_timeout_microseconds`, limits, bad);
    checkWhole(p.maxQueueSize, `${field}.max_queue_size`, bad);
  }

  // As Triton: ordering holds only with one queue, and a DELAY timeout moves a request
  // behind later ones. Triton refuses DELAY only where a default timeout is set.
  if (db.preserveOrdering) {
    if (db.priorityLevels > 1) {
      throw bad(`${f}.priority_levels`, `is ${db.priorityLevels}, but preserve_ordering allows only one priority level`);
    }
    for (const [field, p] of policies) {
      if (p.timeoutAction === ModelQueuePolicy_TimeoutAction.DELAY && p.defaultTimeoutMicroseconds !== 0) {
        throw bad(`${field}.timeout_action`, 'may not be DELAY with a default_timeout_microseconds when preserve_ordering is true');
      }
    }
  }
}

function checkInstanceGroups(config: ModelConfig, model: string, limits: ConfigLimits, bad: Bad): void {
  const max = limits.maxInstanceCount;
  const firstIndexByName = new Map<string, number>();
  let total = 0;
  config.instanceGroup.forEach((g, i) => {
    const f = `instance_group[${i}]`;
    if (!(g.kind in ModelInstanceGroup_Kind) || g.kind === ModelInstanceGroup_Kind.UNRECOGNIZED) {
      throw bad(`${f}.kind`, 'must be KIND_AUTO, KIND_GPU or KIND_CPU');
    }
    // Instance names are "<group name>_<n>"; distinct group names keep them distinct. An
    // unnamed group gets "<model>_<index>", as preCheck names it.
    const name = g.name === '' ? `${model}_${i}` : g.name;
    const first = firstIndexByName.get(name);
    if (first !== undefined) throw bad(`${f}.name`, `'${name}' is already the name of instance_group[${first}]; group names must be unique`);
    firstIndexByName.set(name, i);

    if (!Number.isInteger(g.count)) throw bad(`${f}.count`, `must be a whole number, got ${g.count}`);
    const count = Math.max(1, g.count);
    if (count > max) throw bad(`${f}.count`, `${count} exceeds the limit of ${max} instances a model`);
    g.gpus.forEach((id, j) => {
      if (!Number.isInteger(id) || id < 0 || id > INT32_MAX) throw bad(`${f}.gpus[${j}]`, `must be a GPU id of 0 or more, got ${id}`);
    });
    total += count * Math.max(1, g.gpus.length);
    if (total > max) {
      throw bad(`${f}.count`, `brings the model to ${total} instances (count for each listed GPU, over all groups), more than the limit of ${max}`);
    }
  });
}

function checkWarmupSamples(samples: ModelWarmup[], limits: ConfigLimits, bad: Bad): void {
  if (samples.length > limits.maxWarmupSamples) {
    throw bad('model_warmup', `lists ${samples.length} samples, more than the limit of ${limits.maxWarmupSamples}`);
  }
  samples.forEach((w, i) => {
    const f = `model_warmup[${i}]`;
    if (w.name === '') throw bad(`${f}.name`, 'must not be empty (errors and logs name the sample)');
    if (!Number.isInteger(w.batchSize) || w.batchSize < 0 || w.batchSize > limits.maxWarmupBatchSize) {
      throw bad(`${f}.batch_size`, `must be a whole number of at most ${limits.maxWarmupBatchSize}, got ${w.batchSize}`);
    }
    if (!Number.isInteger(w.count) || w.count < 0 || w.count > limits.maxWarmupCount) {
      throw bad(`${f}.count`, `must be a whole number of at most ${limits.maxWarmupCount}, got ${w.count}`);
    }
    // warmupInputs makes batch_size copies when the model batches and one otherwise, and
    // auto-complete may still turn batching on, so count batch_size copies either way.
    const copies = Math.max(1, w.batchSize);
    let bytes = 0;
    for (const [input, spec] of Object.entries(w.inputs)) {
      const fi = `${f}.inputs["${input}"]`;
      const d = datatypeByConfigEnum(spec.dataType);
      if (!d) {
        throw bad(`${fi}.data_type`, spec.dataType === DataType.TYPE_INVALID ? 'must be set' : `${DataType[spec.dataType] ?? spec.dataType} is not supported`);
      }
      // checkWarmup refuses -1 too, but only after the model is read; the byte bound
      // below needs fixed dims now.
      spec.dims.forEach((dim, j) => {
        if (!Number.isInteger(dim) || dim < 0)
          throw bad(`${fi}.dims[${j}]`, `must be a fixed size of 0 or more (warmup data has no variable dimensions), got ${dim}`);
      });
      const source = spec.inputDataType;
      if (!source) throw bad(fi, 'must set one of zero_data, random_data or input_data_file');
      if (source.$case === 'inputDataFile') {
        // A relative path inside the model's warmup/ folder (subfolders allowed, as in
        // Triton); resolveInside checks links when the file is read.
        try {
          relativeSegments(source.value, 'path');
        } catch (err) {
          throw bad(`${fi}.input_data_file`, (err as Error).message);
        }
      }
      bytes += copies * elementsUpTo(spec.dims, limits.maxWarmupBytes) * (d.byteSize === 0 ? 4 : d.byteSize);
      if (bytes > limits.maxWarmupBytes) {
        throw bad(`${fi}.dims`, `bring the sample's inputs to more than the limit of ${limits.maxWarmupBytes} bytes (batch_size ${w.batchSize})`);
      }
    }
  });
}

function checkMicros(value: number, field: string, limits: ConfigLimits, bad: Bad): void {
  if (!Number.isInteger(value) || value < 0 || value > limits.maxTimeoutUs) {
    throw bad(field, `must be a whole number of microseconds in 0..${limits.maxTimeoutUs}, got ${value}`);
  }
}

function checkWhole(value: number, field: string, bad: Bad): void {
  if (!Number.isSafeInteger(value) || value < 0) throw bad(field, `must be a whole number of 0 or more, got ${value}`);
}

/** Product of the dims, or just above `cap` once it passes it (no overflow to Infinity). */
function elementsUpTo(dims: readonly number[], cap: number): number {
  if (dims.includes(0)) return 0;
  let n = 1;
  for (const d of dims) {
    n *= d;
    if (n > cap) return cap + 1;
  }
  return n;
}
