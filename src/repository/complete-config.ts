// Completes a model's config from its ONNX model (as tritonserver's auto-complete does
// for the ONNX Runtime backend) and checks the two agree. With auto-complete off the
// config must already describe every input and output.

import {
  DataType,
  ModelConfig,
  ModelDynamicBatching,
  ModelInput as ModelInputMessage,
  ModelInstanceGroup,
  ModelInstanceGroup_Kind,
  ModelOutput as ModelOutputMessage,
  type ModelInput,
  type ModelOutput,
} from '../generated/inference/model_config.js';
import type { TensorInfo } from '../execution/protocol.js';
import { configTypeName, datatypeByConfigEnum, datatypeByOrtType } from '../tensor/datatype.js';
import { ConfigError } from './config-file.js';
import { checkVersionPolicy } from './version-policy.js';

export interface CompleteOptions {
  autoComplete: boolean;
  /** max_batch_size given to a model that can batch when its config says nothing (tritonserver: 4). */
  defaultMaxBatchSize: number;
}

export interface ModelIo {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

export const ONNX_PLATFORM = 'onnxruntime_onnx';
export const ONNX_BACKEND = 'onnxruntime';

/** Checks what can be checked before the ONNX model is opened; fills name, platform, defaults. */
export function preCheck(config: ModelConfig, dirName: string): ModelConfig {
  const c = ModelConfig.fromPartial(config);
  if (c.name === '') c.name = dirName;
  if (c.name !== dirName) {
    throw new ConfigError(`config name '${c.name}' does not match the model folder '${dirName}'`);
  }
  if (c.platform !== '' && c.platform !== ONNX_PLATFORM) {
    throw new ConfigError(`platform '${c.platform}' is not served here; only '${ONNX_PLATFORM}' (ONNX models) is`);
  }
  if (c.backend !== '' && c.backend !== ONNX_BACKEND) {
    throw new ConfigError(`backend '${c.backend}' is not served here; only '${ONNX_BACKEND}' is`);
  }
  c.platform = ONNX_PLATFORM;
  c.backend = ONNX_BACKEND;
  if (c.maxBatchSize < 0) throw new ConfigError(`max_batch_size must be 0 or more, got ${c.maxBatchSize}`);
  const policyProblem = checkVersionPolicy(c.versionPolicy);
  if (policyProblem) throw new ConfigError(policyProblem);
  if (!c.versionPolicy?.policyChoice) c.versionPolicy = { policyChoice: { $case: 'latest', value: { numVersions: 1 } } };
  if (c.schedulingChoice && c.schedulingChoice.$case !== 'dynamicBatching') {
    throw new ConfigError(`${c.schedulingChoice.$case === 'sequenceBatching' ? 'sequence_batching' : 'ensemble_scheduling'} is not implemented`);
  }
  if (c.instanceGroup.length === 0) {
    c.instanceGroup = [{ ...emptyGroup(), kind: ModelInstanceGroup_Kind.KIND_CPU, count: 1 }];
  }
  c.instanceGroup.forEach((g, i) => {
    if (g.count < 0) throw new ConfigError(`instance_group[${i}].count must be at least 1, got ${g.count}`);
    if (g.count === 0) g.count = 1;
    if (g.name === '') g.name = `${c.name}_${i}`;
    if (g.kind === ModelInstanceGroup_Kind.KIND_MODEL) {
      throw new ConfigError(`instance_group[${i}].kind KIND_MODEL is not supported for ONNX models; use KIND_CPU`);
    }
    if (g.kind === ModelInstanceGroup_Kind.KIND_CPU && g.gpus.length > 0) {
      throw new ConfigError(`instance_group[${i}] is KIND_CPU but lists gpus`);
    }
  });
  for (const t of [...c.input, ...c.output]) {
    if (t.reshape) throw new ConfigError(`'${t.name}': reshape is not implemented`);
  }
  return c;
}

/** Fills inputs, outputs and max_batch_size from the model, then checks config and model agree. */
export function completeConfig(config: ModelConfig, io: ModelIo, opts: CompleteOptions): ModelConfig {
  const c = ModelConfig.fromPartial(config);
  const nonTensor = [...io.inputs, ...io.outputs].find((t) => t.ortType === 'non-tensor');
  if (nonTensor) throw new ConfigError(`'${nonTensor.name}' of the ONNX model is not a tensor (sequences and maps are not served)`);

  if (opts.autoComplete) {
    const batchable = [...io.inputs, ...io.outputs].every((t) => t.shape.length >= 1 && t.shape[0] === -1);
    if (c.maxBatchSize === 0 && c.input.length === 0 && c.output.length === 0 && batchable) {
      c.maxBatchSize = opts.defaultMaxBatchSize;
      // As tritonserver does: a batch size set by auto-complete comes with the dynamic batcher.
      if (c.maxBatchSize > 1 && !c.schedulingChoice) c.schedulingChoice = { $case: 'dynamicBatching', value: ModelDynamicBatching.fromPartial({}) };
    }
    const skip = c.maxBatchSize > 0 ? 1 : 0;
    c.input = fillTensors(c.input, io.inputs, skip, 'input') as ModelInput[];
    c.output = fillTensors(c.output, io.outputs, skip, 'output') as ModelOutput[];
  }
  check(c, io);
  return c;
}

function fillTensors(given: Array<ModelInput | ModelOutput>, model: TensorInfo[], skip: number, what: string): Array<ModelInput | ModelOutput> {
  const out = [...given];
  for (const t of given) {
    const m = model.find((x) => x.name === t.name);
    if (!m) continue;
    if (t.dataType === DataType.TYPE_INVALID) t.dataType = configEnumOf(m, what);
    if (t.dims.length === 0 && m.shape.length - skip > 0) t.dims = m.shape.slice(skip);
  }
  if (given.length === 0) {
    for (const m of model) {
      out.push({
        ...(what === 'input' ? emptyInput() : emptyOutput()),
        name: m.name,
        dataType: configEnumOf(m, what),
        dims: m.shape.slice(skip),
      });
    }
  }
  return out;
}

function configEnumOf(m: TensorInfo, what: string): DataType {
  const d = datatypeByOrtType(m.ortType);
  if (!d) throw new ConfigError(`${what} '${m.name}' has ONNX type ${m.ortType}, which has no Triton datatype served here`);
  return d.configEnum as DataType;
}

function check(c: ModelConfig, io: ModelIo): void {
  const batch = c.maxBatchSize > 0;
  const sides: Array<[string, Array<ModelInput | ModelOutput>, TensorInfo[]]> = [
    ['input', c.input, io.inputs],
    ['output', c.output, io.outputs],
  ];
  for (const [what, tensors, model] of sides) {
    const seen = new Set<string>();
    for (const t of tensors) {
      if (seen.has(t.name)) throw new ConfigError(`${what} '${t.name}' is listed twice`);
      seen.add(t.name);
      const m = model.find((x) => x.name === t.name);
      if (!m) {
        throw new ConfigError(`${what} '${t.name}' is not an ${what} of the ONNX model, whose ${what}s are: ${model.map((x) => x.name).join(', ')}`);
      }
      const d = datatypeByConfigEnum(t.dataType);
      if (!d) throw new ConfigError(`${what} '${t.name}': data_type ${DataType[t.dataType] ?? t.dataType} is not supported`);
      if (d.ortType !== m.ortType) {
        throw new ConfigError(`${what} '${t.name}': config says ${configTypeName(d)} but the ONNX model has ${m.ortType}`);
      }
      if (t.dims.some((x) => x < -1)) throw new ConfigError(`${what} '${t.name}': dims may not be below -1`);
      const full = batch ? [-1, ...t.dims] : t.dims;
      if (full.length !== m.shape.length) {
        throw new ConfigError(
          `${what} '${t.name}': ${batch ? `max_batch_size ${c.maxBatchSize} adds a batch dimension, so ` : ''}config dims ` +
            `[${t.dims.join(',')}] give rank ${full.length}, but the ONNX model has rank ${m.shape.length} [${m.shape.join(',')}]`,
        );
      }
      if (batch && m.shape[0] !== -1) {
        throw new ConfigError(`${what} '${t.name}': max_batch_size > 0 needs a dynamic first dimension, but the ONNX model has ${m.shape[0]}`);
      }
      for (let i = batch ? 1 : 0; i < full.length; i++) {
        const want = m.shape[i]!;
        if (want !== -1 && full[i] !== want) {
          throw new ConfigError(`${what} '${t.name}': config dims [${t.dims.join(',')}] do not match the ONNX model's [${m.shape.join(',')}]`);
        }
      }
    }
    if (what === 'input') {
      const missing = model.filter((m) => !seen.has(m.name));
      if (missing.length > 0) {
        throw new ConfigError(
          `the config does not list the ONNX model's input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m.name}'`).join(', ')}`,
        );
      }
    }
  }
  if (c.output.length === 0) throw new ConfigError('the config lists no outputs');
}

function emptyGroup(): ModelInstanceGroup {
  return ModelInstanceGroup.fromPartial({});
}

function emptyInput(): ModelInput {
  return ModelInputMessage.fromPartial({});
}

function emptyOutput(): ModelOutput {
  return ModelOutputMessage.fromPartial({});
}
