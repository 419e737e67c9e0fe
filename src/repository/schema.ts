// The ModelConfig schema, read from protos/ at run time, so the pbtxt parser knows every
// field of the wire contract without a second hand-written copy.

import protobuf from 'protobufjs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

let cached: protobuf.Type | undefined;

/** The protos/ folder of this package. */
export function protosDir(): string {
  return join(packageRoot(), 'protos');
}

export function modelConfigType(): protobuf.Type {
  if (cached) return cached;
  const root = new protobuf.Root();
  root.loadSync(join(protosDir(), 'inference', 'model_config.proto'), { keepCase: true });
  root.resolveAll();
  cached = root.lookupType('inference.ModelConfig');
  return cached;
}
