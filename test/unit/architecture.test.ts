// The module rules of STYLE.md, checked on the import graph of src/: flow goes one way,
// each third-party runtime is imported by one module, pure modules stay pure, and no
// import cycles. (madge would do the cycle part, but it needs the TypeScript 5 compiler
// API, which TypeScript 7 no longer ships.)

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const src = fileURLToPath(new URL('../../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const all = files(src).filter((f) => !f.includes(`${join(src, 'generated')}`));
const imports = new Map<string, string[]>();
for (const f of all) {
  const text = readFileSync(f, 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]!);
  imports.set(f, specs);
}

const moduleOf = (f: string): string => {
  const rel = relative(src, f).split('/');
  return rel.length > 1 ? rel[0]! : rel[0]!.replace(/\.ts$/, '');
};
const localTargets = (f: string): string[] =>
  imports
    .get(f)!
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(f), s.replace(/\.js$/, '.ts')));

test('there are no import cycles in src/', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      const cycle = stack
        .slice(stack.indexOf(f))
        .concat(f)
        .map((p) => relative(src, p));
      assert.unreachable(`import cycle: ${cycle.join(' -> ')}`);
    }
    state.set(f, 'visiting');
    stack.push(f);
    for (const t of localTargets(f)) if (imports.has(t)) visit(t);
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of all) visit(f);
});

test('@grpc/grpc-js is imported only by frontend/', () => {
  for (const f of all) {
    if (imports.get(f)!.some((s) => s.startsWith('@grpc/'))) assert.is(moduleOf(f), 'frontend', relative(src, f));
  }
});

test('find-my-way is imported only by frontend/http/, and core/ knows no transport', () => {
  for (const f of all) {
    const rel = relative(src, f);
    if (imports.get(f)!.includes('find-my-way')) assert.ok(rel.startsWith(join('frontend', 'http')), rel);
    if (moduleOf(f) === 'core') {
      assert.not.ok(
        imports.get(f)!.some((x) => x === 'node:http' || x === 'node:https' || x.startsWith('@grpc/')),
        rel,
      );
      assert.not.ok(
        localTargets(f).some((t) => moduleOf(t) === 'frontend'),
        rel,
      );
    }
  }
});

test('piscina and onnxruntime-node are imported only by execution/', () => {
  for (const f of all) {
    if (imports.get(f)!.some((s) => s === 'piscina' || s === 'onnxruntime-node')) assert.is(moduleOf(f), 'execution', relative(src, f));
  }
});

test('prom-client is imported only by metrics/', () => {
  for (const f of all) {
    if (imports.get(f)!.some((s) => s === 'prom-client')) assert.is(moduleOf(f), 'metrics', relative(src, f));
  }
});

test('tensor/, batching/ and scheduling/ are pure: no node: imports and no timers', () => {
  for (const f of all.filter((x) => ['tensor', 'batching', 'scheduling'].includes(moduleOf(x)))) {
    assert.not.ok(
      imports.get(f)!.some((s) => s.startsWith('node:')),
      relative(src, f),
    );
    assert.not.match(readFileSync(f, 'utf8'), /\b(setTimeout|setInterval|Date\.now)\(/, relative(src, f));
  }
});

test('imports flow downstream: frontend → core → repository → batching → scheduling → execution', () => {
  const order = ['frontend', 'core', 'repository', 'batching', 'scheduling', 'execution'];
  for (const f of all) {
    const from = moduleOf(f);
    if (!order.includes(from)) continue;
    for (const t of localTargets(f)) {
      const to = moduleOf(t);
      if (!order.includes(to) || to === from) continue;
      assert.ok(order.indexOf(to) > order.indexOf(from), `${relative(src, f)} imports upstream module ${to}/`);
    }
  }
});

test.run();
