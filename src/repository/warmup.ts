// model_warmup: the config's synthetic requests, run on every replica of a version
// before it is marked READY, so the first real request does not pay for first-run costs.

import { randomFillSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig, ModelWarmup } from '../generated/inference/model_config.js';
import type { ModelRunner } from '../execution/model-runner.js';
import type { WireTensor } from '../execution/protocol.js';
import { ConfigError } from './config-file.js';
import { resolveInside } from './safe-path.js';
import { datatypeByConfigEnum } from '../tensor/datatype.js';
import { elementCount } from '../tensor/shape.js';

/** Checks every sample before any model file is touched; returns how many runs it will make. */
export function checkWarmup(config: ModelConfig, modelDir: string): void {
  for (const w of config.modelWarmup) {
    const name = `model_warmup '${w.name}'`;
    if (w.batchSize < 1) throw new ConfigError(`${name}: batch_size must be at least 1`);
    if (config.maxBatchSize === 0 && w.batchSize !== 1) throw new ConfigError(`${name}: batch_size must be 1 for a model with max_batch_size 0`);
    if (config.maxBatchSize > 0 && w.batchSize > config.maxBatchSize) {
      throw new ConfigError(`${name}: batch_size ${w.batchSize} exceeds max_batch_size ${config.maxBatchSize}`);
    }
    for (const input of config.input) {
      if (!w.inputs[input.name] && !input.optional) throw new ConfigError(`${name} gives no data for input '${input.name}'`);
    }
    for (const [inputName, spec] of Object.entries(w.inputs)) {
      if (!config.input.some((i) => i.name === inputName)) throw new ConfigError(`${name}: '${inputName}' is not an input of the model`);
      if (spec.dims.some((d) => d < 0)) throw new ConfigError(`${name}: input '${inputName}' dims must be fixed (no -1)`);
      if (spec.inputDataType?.$case === 'inputDataFile') {
        const file = warmupFile(modelDir, spec.inputDataType.value, name);
        if (!existsSync(file)) throw new ConfigError(`${name}: input '${inputName}' data file warmup/${spec.inputDataType.value} does not exist`);
      }
    }
  }
}

/** A warmup data file: a path inside the model's warmup/ folder, links followed. */
function warmupFile(modelDir: string, rel: string, what: string): string {
  return resolveInside(join(modelDir, 'warmup'), rel, `${what}: input_data_file`);
}

/** The inputs of one warmup run, in fresh buffers (each run transfers them). */
export function warmupInputs(config: ModelConfig, w: ModelWarmup, modelDir: string): WireTensor[] {
  const out: WireTensor[] = [];
  for (const [inputName, spec] of Object.entries(w.inputs)) {
    const d = datatypeByConfigEnum(spec.dataType);
    if (!d) throw new ConfigError(`model_warmup '${w.name}': input '${inputName}' has an unsupported data_type`);
    const shape = config.maxBatchSize > 0 ? [w.batchSize, ...spec.dims] : [...spec.dims];
    const count = elementCount(shape);
    let bytes: Uint8Array;
    const source = spec.inputDataType;
    if (source?.$case === 'inputDataFile') {
      const raw = readFileSync(warmupFile(modelDir, source.value, `model_warmup '${w.name}'`));
      const perSample = d.name === 'BYTES' ? raw.byteLength : elementCount(spec.dims) * d.byteSize;
      if (d.name !== 'BYTES' && raw.byteLength !== perSample) {
        throw new ConfigError(`model_warmup '${w.name}': warmup/${source.value} does not hold one sample of input '${inputName}' (${perSample} bytes)`);
      }
      // The file holds one sample; batch_size copies of it make the batch.
      const copies = config.maxBatchSize > 0 ? w.batchSize : 1;
      bytes = new Uint8Array(raw.byteLength * copies);
      for (let i = 0; i < copies; i++) bytes.set(raw, i * raw.byteLength);
    } else if (d.name === 'BYTES') {
      // Random data falls back to zero data for strings, as in Triton: empty strings.
      bytes = new Uint8Array(4 * count);
    } else {
      bytes = new Uint8Array(count * d.byteSize);
      if (source?.$case === 'randomData') {
        if (d.name === 'FP32' || d.name === 'FP64') {
          const v = d.name === 'FP32' ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
          for (let i = 0; i < v.length; i++) v[i] = Math.random() * 2 - 1;
        } else if (d.name === 'BOOL') {
          for (let i = 0; i < bytes.length; i++) bytes[i] = Math.random() < 0.5 ? 1 : 0;
        } else if (d.name !== 'FP16') {
          randomFillSync(bytes);
        }
      }
    }
    out.push({ name: inputName, ortType: d.ortType, shape, data: bytes.buffer as ArrayBuffer });
  }
  return out;
}

/** Runs every sample `count` times (at least once) on every replica. Rejects with the sample's name. */
export async function runWarmup(runner: ModelRunner, config: ModelConfig, modelDir: string): Promise<number> {
  let runs = 0;
  const outputs = config.output.map((o) => o.name);
  for (const w of config.modelWarmup) {
    for (let replica = 0; replica < runner.replicaCount; replica++) {
      for (let k = 0; k < Math.max(1, w.count); k++) {
        try {
          await runner.run(replica, warmupInputs(config, w, modelDir), outputs);
        } catch (err) {
          throw new ConfigError(`model_warmup '${w.name}' failed: ${(err as Error).message}`);
        }
        runs++;
      }
    }
  }
  return runs;
}
