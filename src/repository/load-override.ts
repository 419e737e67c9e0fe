// RepositoryModelLoad's parameters, as Triton reads them: "config" is a ModelConfig in
// protobuf JSON that replaces config.pbtxt for this load; "file:<version>/<name>" holds a
// model file's bytes (a config must come with files). The whole request is checked before
// anything is written; files are then staged in a fresh temporary folder, loaded from
// there, and the folder is removed whatever happens.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ModelConfig } from '../generated/inference/model_config.js';
import { Code, ServeError, invalid } from '../errors.js';
import { ConfigError } from './config-file.js';
import { printable, relativeSegments, resolveInside } from './safe-path.js';

export interface LoadOverride {
  /** JSON text of a ModelConfig. */
  configJson?: string;
  /** Relative path inside the model folder (e.g. "1/model.onnx") → bytes. */
  files?: Record<string, Uint8Array>;
}

/** At most this many file parameters in one load request. */
export const MAX_LOAD_FILES = 64;

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
  try {
    return ModelConfig.fromJSON(parsed);
  } catch (err) {
    throw new ConfigError(`the "config" parameter of the load request for '${model}' is not a ModelConfig: ${(err as Error).message}`);
  }
}

/**
 * Checks every file parameter of a load request: a config comes with them, each name is
 * <version>/<relative path> with a positive integer version and no '.', '..', empty or
 * absolute part. Throws INVALID_ARGUMENT before anything is written.
 */
export function checkOverrideFiles(model: string, override: LoadOverride): void {
  const files = Object.keys(override.files ?? {});
  if (files.length === 0) return;
  if (override.configJson === undefined) {
    throw invalid(`loading '${model}' with file parameters needs a "config" parameter too`);
  }
  if (files.length > MAX_LOAD_FILES) throw invalid(`loading '${model}': more than ${MAX_LOAD_FILES} file parameters`);
  for (const rel of files) {
    let parts: string[];
    try {
      parts = relativeSegments(rel, 'file parameter');
    } catch (err) {
      throw invalid(`loading '${model}': ${(err as Error).message}`);
    }
    if (parts.length < 2 || !/^[1-9][0-9]{0,15}$/.test(parts[0]!)) {
      throw invalid(`loading '${model}': file parameter 'file:${printable(rel)}' must name <version>/<file>, the version a positive integer`);
    }
  }
  // A file may not also be a folder of another one ("1/a" and "1/a/b").
  const names = new Set(files);
  for (const rel of files) {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      if (names.has(folder)) throw invalid(`loading '${model}': file parameter 'file:${printable(folder)}' is also a folder of 'file:${printable(rel)}'`);
    }
  }
}

/**
 * Writes the (already checked) files into a fresh repository folder and returns its root;
 * on any failure the folder is removed before the error propagates.
 */
export function stageFiles(model: string, override: LoadOverride): string {
  checkOverrideFiles(model, override);
  const root = mkdtempSync(join(tmpdir(), 'triton-ts-load-'));
  try {
    const modelDir = join(root, model);
    mkdirSync(modelDir);
    for (const [rel, bytes] of Object.entries(override.files ?? {})) {
      const path = resolveInside(modelDir, rel, 'file parameter');
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes, { flag: 'wx' });
    }
    return root;
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    if (err instanceof ConfigError) throw invalid(`loading '${model}': ${err.message}`);
    throw new ServeError(Code.INTERNAL, `loading '${model}': its files could not be staged`, { cause: err });
  }
}

/** Under --require-encrypted-models, a model file uploaded in plaintext never reaches the disk. */
export function refusePlaintextUpload(name: string, override: LoadOverride, config: ModelConfig | undefined): void {
  const fileName = config?.defaultModelFilename || 'model.onnx';
  for (const rel of Object.keys(override.files ?? {})) {
    const file = rel.slice(rel.indexOf('/') + 1);
    if (file === fileName && !file.endsWith('.enc')) {
      throw new ConfigError(
        `loading '${name}': this server serves only encrypted models (--require-encrypted-models); upload file:${rel}.enc, made with npm run encrypt-model`,
      );
    }
  }
}
