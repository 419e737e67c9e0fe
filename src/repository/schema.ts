// The ModelConfig schema, read from protos/ at run time, so the pbtxt parser knows every
// field of the wire contract without a second hand-written copy.

import protobuf from 'protobufjs';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: protobuf.Type | undefined;

/** The protos/ folder: found by walking up from this file (src/ in development, dist/src/ built). */
export function protosDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'protos');
    if (existsSync(join(candidate, 'inference', 'model_config.proto'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('protos/inference/model_config.proto not found above ' + fileURLToPath(import.meta.url));
}

export function modelConfigType(): protobuf.Type {
  if (cached) return cached;
  const root = new protobuf.Root();
  root.loadSync(join(protosDir(), 'inference', 'model_config.proto'), { keepCase: true });
  root.resolveAll();
  cached = root.lookupType('inference.ModelConfig');
  return cached;
}
