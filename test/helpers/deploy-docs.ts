// The YAML documents under deploy/, parsed once for the deploy tests.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './server-process.js';

export const deployDir = join(repoRoot, 'deploy');

export type Doc = { kind?: string; apiVersion?: string; spec?: Record<string, unknown>; rules?: unknown[] } & Record<string, unknown>;
export type Container = { name: string; args?: string[]; ports?: Array<{ name?: string; containerPort: number }>; [k: string]: unknown };

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(n) ? [p] : [];
  });

/** Every document of every YAML file under deploy/, with its path relative to the repository; throws on a YAML error. */
export function deployDocs(): Array<{ file: string; doc: Doc }> {
  return yamlFiles(deployDir).flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
      if (d.errors.length) throw new Error(`${relative(repoRoot, file)}: ${d.errors.map(String).join('; ')}`);
      return { file: relative(repoRoot, file), doc: d.toJSON() as Doc };
    }),
  );
}

export const containersOf = (d: Doc): Container[] => {
  if (d.kind === 'Deployment') return ((d.spec!['template'] as { spec: { containers: Container[] } }).spec.containers ?? []) as Container[];
  if (d.kind === 'ClusterServingRuntime') return (d.spec!['containers'] as Container[]) ?? [];
  return [];
};
