// RepositoryModelLoad's parameters, as Triton reads them: "config" is a ModelConfig in
// protobuf JSON that replaces config.pbtxt for this load; "file:<version>/<name>" holds a
// model file's bytes (a config must come with files). Files are staged in a temporary
// model folder, loaded from there, and deleted once the sessions hold the model.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { ModelConfig } from '../generated/inference/model_config.js';
import { invalid } from '../errors.js';
import { ConfigError } from './config-file.js';

export interface LoadOverride {
  /** JSON text of a ModelConfig. */
  configJson?: string;
  /** Relative path inside the model folder (e.g. "1/model.onnx") → bytes. */
  files?: Record<string, Uint8Array>;
}

export function configFromJson(json: string, model: string): ModelConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`the "config" parameter of the load request for '${model}' is not JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`the "config" parameter of the load request for '${model}' must be a JSON object (a ModelConfig)`);
  }
  return ModelConfig.fromJSON(parsed);
}

/** Writes the override's files into a fresh repository folder; returns that repository's root. */
export function stageFiles(model: string, override: LoadOverride): string {
  if (override.configJson === undefined) {
    throw invalid(`loading '${model}' with file parameters needs a "config" parameter too`);
  }
  const root = mkdtempSync(join(tmpdir(), 'triton-ts-load-'));
  for (const [rel, bytes] of Object.entries(override.files ?? {})) {
    const clean = normalize(rel);
    if (clean.startsWith('..') || clean.startsWith('/') || !/^[1-9][0-9]*\//.test(clean)) {
      throw invalid(`file parameter 'file:${rel}' for '${model}' must name <version>/<file> inside the model folder`);
    }
    const path = join(root, model, clean);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
  }
  return root;
}
