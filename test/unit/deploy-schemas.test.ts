// deploy/ against the schemas of what applies it, offline: each Kubernetes and KEDA resource
// validates with kubernetes-models, no resource carries a field its type lacks (the API
// server would prune or refuse it), and the KServe resources validate against the part of
// KServe's CRD schemas they use (test/fixtures/kserve-schema.json, from scripts/kserve-schema.ts).

import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formats } from '@kubernetes-models/validate';
import { Ajv, type ErrorObject } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Container, type Doc, deployDocs } from '../helpers/deploy-docs.js';
import { repoRoot } from '../helpers/server-process.js';

const docs = deployDocs();
const GPU_PATCH = 'overlays/gpu/gpu.yaml';

/** The kubernetes-models module of each kind the manifests use (the KEDA one from its package). */
const MODULES: Record<string, string> = {
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'v1/Service': 'kubernetes-models/v1/Service',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'keda.sh/v1alpha1/ScaledObject': '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject',
  'monitoring.coreos.com/v1/PodMonitor': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor',
};
const moduleOf = (d: Doc): string | undefined => MODULES[`${d.apiVersion}/${d.kind}`];

async function modelFor(d: Doc): Promise<new (o: unknown) => { validate(): void }> {
  const m = (await import(moduleOf(d)!)) as Record<string, new (o: unknown) => { validate(): void }>;
  return m[d.kind!]!;
}

test('every Kubernetes and KEDA resource validates against its schema offline; the GPU patch too, applied to the base', async () => {
  let validated = 0;
  for (const { file, doc } of docs) {
    if (file.includes(GPU_PATCH) || !moduleOf(doc)) continue;
    const Model = await modelFor(doc);
    assert.not.throws(() => new Model(doc).validate(), `${file} (${doc.kind})`);
    validated++;
  }
  assert.ok(validated >= 7, `the base resources, the ScaledObject and the PodMonitor (${validated})`);
  const base = structuredClone(docs.find((d) => d.doc.kind === 'Deployment' && d.file.includes('base'))!.doc);
  const patch = docs.find((d) => d.file.includes(GPU_PATCH))!.doc;
  const patchPod = (patch.spec!['template'] as { spec: Record<string, unknown> }).spec;
  const basePod = (base.spec!['template'] as { spec: Record<string, unknown> }).spec;
  const [pc] = patchPod['containers'] as Container[];
  const bc = (basePod['containers'] as Container[]).find((c) => c.name === pc!.name)!;
  Object.assign(bc, {
    image: pc!['image'],
    resources: {
      ...(bc['resources'] as object),
      limits: { ...((bc['resources'] as { limits: object }).limits ?? {}), ...((pc!['resources'] as { limits: object }).limits ?? {}) },
    },
  });
  basePod['tolerations'] = patchPod['tolerations'];
  const Deployment = await modelFor(base);
  assert.not.throws(() => new Deployment(base).validate(), 'the GPU Deployment');
});

test('no Kubernetes or KEDA resource carries a field its type lacks (a typo the validator above lets through)', async () => {
  // kubernetes-models' validators accept unknown keys; TypeScript's excess-property check on
  // its interfaces does not. Each document becomes a typed literal; a planted typo must fail.
  const dir = join(repoRoot, 'node_modules', '.cache', 'deploy-types');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const lines = ['type DeepPartial<T> = T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;'];
  const typed = docs.filter((d) => moduleOf(d.doc));
  typed.forEach(({ file, doc }, i) => {
    const type = `import('${moduleOf(doc)}').I${doc.kind}`;
    lines.push(`// ${file}`, `export const d${i}: ${file.includes(GPU_PATCH) ? `DeepPartial<${type}>` : type} = ${JSON.stringify(doc)};`);
  });
  writeFileSync(join(dir, 'manifests.ts'), `${lines.join('\n')}\n`);
  const service = typed.find((d) => d.doc.kind === 'Service')!.doc;
  const typo = structuredClone(service) as Doc & { spec: { ports: Array<Record<string, unknown>> } };
  typo.spec.ports[0]!['targetPorts'] = 'grpc';
  writeFileSync(join(dir, 'planted.ts'), `${lines[0]}\nexport const typo: import('${moduleOf(service)}').IService = ${JSON.stringify(typo)};\n`);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, module: 'nodenext', moduleResolution: 'nodenext', types: [] },
      files: ['manifests.ts', 'planted.ts'],
    }),
  );
  const tsc = join(repoRoot, 'node_modules', '.bin', 'tsc');
  const out = await promisify(execFile)(tsc, ['-p', join(dir, 'tsconfig.json')]).then(
    (r) => r.stdout,
    (e: { stdout: string }) => e.stdout,
  );
  const errors = out.split('\n').filter((l) => /error TS/.test(l));
  assert.equal(
    errors.filter((l) => !l.includes('planted.ts(')),
    [],
    `typed against kubernetes-models:\n${out}`,
  );
  assert.ok(
    errors.some((l) => l.includes('planted.ts(') && l.includes('targetPorts')),
    `the planted typo is found:\n${out}`,
  );
  assert.ok(typed.length >= 8, `every resource and the GPU patch (${typed.length})`);
});

type KServeExtract = { source: { commit: string }; schemas: Record<string, object> };
const kserve = JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'kserve-schema.json'), 'utf8')) as KServeExtract;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
for (const [name, format] of Object.entries(formats)) ajv.addFormat(name, format); // int32, int64 and the rest Kubernetes names
const kserveDocs = docs.filter((d) => String(d.doc.apiVersion).startsWith('serving.kserve.io/'));

/** ajv's errors for a KServe document against its extract, as readable lines. */
function kserveErrors(doc: Doc): string[] {
  const schema = kserve.schemas[`${doc.apiVersion}/${doc.kind}`];
  if (!schema) return [`no extract for ${doc.apiVersion}/${doc.kind}: rerun scripts/kserve-schema.ts`];
  const validate = ajv.compile(schema);
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) =>
    e.keyword === 'false schema'
      ? `${e.instancePath}: a field of the CRD outside the extract (rerun scripts/kserve-schema.ts)`
      : `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`,
  );
}

test('the KServe runtime and InferenceServices validate against the CRD schemas of KServe they use', () => {
  assert.match(kserve.source.commit, /^[0-9a-f]{40}$/, 'the extract names the KServe commit it came from');
  assert.is(kserveDocs.length, 3);
  for (const { file, doc } of kserveDocs) assert.equal(kserveErrors(doc), [], file);
});

test('the KServe extract refuses an unknown field, a field it left out, a wrong type and a missing required field', () => {
  const runtime = kserveDocs.find((d) => d.doc.kind === 'ClusterServingRuntime')!.doc;
  const mutate = (f: (spec: Record<string, unknown>, c: Container) => void): string[] => {
    const d = structuredClone(runtime);
    f(d.spec!, (d.spec!['containers'] as Container[])[0]!);
    return kserveErrors(d);
  };
  assert.match(mutate((s) => (s['protocolVersion'] = ['v2'])).join('\n'), /additionalProperty.*protocolVersion/);
  assert.match(mutate((s) => (s['affinity'] = {})).join('\n'), /\/spec\/affinity: a field of the CRD outside the extract/);
  assert.match(mutate((_s, c) => (c['args'] = '--grpc-port=9000' as unknown as string[])).join('\n'), /args must be array/);
  assert.match(mutate((s) => delete s['containers']).join('\n'), /containers/);
});

test.run();
