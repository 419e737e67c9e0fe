// Reads a model repository laid out as Triton lays it out:
//   <repo>/<model>/config.pbtxt (optional), <repo>/<model>/<version>/model.onnx

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isValidModelName } from '../model/model-name.js';

export interface ModelSource {
  name: string;
  dir: string;
  /** Contents of config.pbtxt, or undefined when the model has none. */
  configText: string | undefined;
  configPath: string;
  /** Numeric version folders, ascending. */
  versions: number[];
}

/** Model folder names, sorted; hidden folders and names outside the model-name rule are skipped. */
export function listModels(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && isValidModelName(d.name))
    .map((d) => d.name)
    .sort();
}

export function readModelSource(root: string, name: string): ModelSource | undefined {
  const dir = join(root, name);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return undefined;
  const configPath = join(dir, 'config.pbtxt');
  const configText = existsSync(configPath) ? readFileSync(configPath, 'utf8') : undefined;
  const versions = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^[1-9][0-9]*$/.test(d.name))
    .map((d) => Number(d.name))
    .filter((n) => Number.isSafeInteger(n))
    .sort((a, b) => a - b);
  return { name, dir, configText, configPath, versions };
}

/**
 * What a model folder holds, as one string that changes when anything the server reads
 * changes: config.pbtxt's text and every file directly in each version folder (name,
 * size, mtime). Poll mode reloads a model when this changes.
 */
export function modelFingerprint(root: string, name: string): string | undefined {
  const source = readModelSource(root, name);
  if (!source) return undefined;
  const parts = [`config:${source.configText ?? '<none>'}`];
  for (const v of source.versions) {
    const dir = join(source.dir, String(v));
    for (const f of readdirSync(dir).sort()) {
      const st = statSync(join(dir, f));
      parts.push(`${v}/${f}:${st.size}:${st.mtimeMs}`);
    }
  }
  const warmup = join(source.dir, 'warmup');
  if (existsSync(warmup)) {
    for (const f of readdirSync(warmup).sort()) {
      const st = statSync(join(warmup, f));
      parts.push(`warmup/${f}:${st.size}:${st.mtimeMs}`);
    }
  }
  return parts.join('\n');
}
