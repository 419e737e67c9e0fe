// Runs every uvu suite under test/unit and test/e2e in one process and ends with a
// "N passed, N failed" line from uvu's own totals (uvu prints none itself).
// Usage: npm test [-- unit|e2e|<path fragment>]

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const filter = process.argv[2] ?? '';

function walk(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return name === 'helpers' || name === 'fixtures' ? [] : walk(p);
      return name.endsWith('.test.ts') ? [p] : [];
    })
    .sort();
}

const files = [...walk(join(root, 'unit')), ...walk(join(root, 'e2e'))].filter((f) => relative(root, f).includes(filter));

const g = globalThis as unknown as { UVU_DEFER: number; UVU_QUEUE: unknown[][]; UVU_INDEX: number };
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];
const { exec } = await import('uvu');

for (const [i, file] of files.entries()) {
  g.UVU_QUEUE.push([relative(root, file)]);
  g.UVU_INDEX = i;
  await import(pathToFileURL(file).href);
}

let printed = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  printed += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

await exec(false);
process.stdout.write = write;

// eslint-disable-next-line no-control-regex
const plain = printed.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const failed = total - passed - skipped;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (total === 0) {
  console.log('no tests ran');
  process.exitCode = 1;
}
if (failed > 0) process.exitCode = 1;
// Worker threads of servers started in-process must not keep the run alive.
setImmediate(() => process.exit(process.exitCode ?? 0));
