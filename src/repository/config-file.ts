// config.pbtxt → the generated ModelConfig type. Errors name the file, line and column.

import { ModelConfig } from '../generated/inference/model_config.js';
import { PbtxtSyntaxError, parseTextFormat } from './pbtxt.js';
import { modelConfigType } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseModelConfig(text: string, file: string): ModelConfig {
  try {
    const json = parseTextFormat(text, modelConfigType());
    return ModelConfig.fromJSON(json);
  } catch (err) {
    if (err instanceof PbtxtSyntaxError) throw new ConfigError(`${file}:${err.line}:${err.col}: ${err.message}`);
    throw err;
  }
}

/** Text format of a config, for logs and tests (the generated toJSON, pretty printed). */
export function configToJson(config: ModelConfig): unknown {
  return ModelConfig.toJSON(config);
}
