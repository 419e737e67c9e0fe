// Builds model repositories in a temporary folder for tests, from the bundled models
// and models made on the spot with the ONNX builder.

import { cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from './server-process.js';

export class TempRepo {
  readonly root = mkdtempSync(join(tmpdir(), 'triton-ts-repo-'));

  /** Copies a model folder from the bundled model-repo/. */
  copyBundled(name: string, as = name): this {
    cpSync(join(repoRoot, 'model-repo', name), join(this.root, as), { recursive: true });
    if (as !== name) this.rename(as, name);
    return this;
  }

  write(path: string, data: Uint8Array | string): this {
    const full = join(this.root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, data);
    return this;
  }

  remove(path: string): this {
    rmSync(join(this.root, path), { recursive: true, force: true });
    return this;
  }

  private rename(as: string, original: string): void {
    const cfg = join(this.root, as, 'config.pbtxt');
    // Without a config.pbtxt the name comes from the folder.
    if (existsSync(cfg)) writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(`name: "${original}"`, `name: "${as}"`));
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
