// The project folder (where package.json, protos/ and model-repo/ live), found by
// walking up from this file: src/ when run with tsx, dist/src/ when built with tsc.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'protos'))) {
      cached = dir;
      return dir;
    }
    dir = dirname(dir);
  }
  throw new Error(`package.json with protos/ not found above ${fileURLToPath(import.meta.url)}`);
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
