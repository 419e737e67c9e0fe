// deploy/: every argument the manifests pass is a flag the server accepts, the drain fits
// in the grace period, probes and ports agree with the arguments, the autoscaling queries
// name metrics the server exports, and the Dockerfile copies what exists.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { parseCli } from '../../src/cli-options.js';
import { PrometheusExporter } from '../../src/metrics/prometheus.js';
import { repoRoot } from '../helpers/server-process.js';

const deploy = join(repoRoot, 'deploy');
const yamlFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(n) ? [p] : [];
  });

type Doc = { kind?: string; spec?: Record<string, unknown>; rules?: unknown[] } & Record<string, unknown>;
const docs: Array<{ file: string; doc: Doc }> = yamlFiles(deploy).flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    assert.equal(d.errors, [], `${relative(repoRoot, file)} is valid YAML`);
    return { file: relative(repoRoot, file), doc: d.toJSON() as Doc };
  }),
);
type Container = { name: string; args?: string[]; ports?: Array<{ name?: string; containerPort: number }>; [k: string]: unknown };
const containersOf = (d: Doc): Container[] => {
  if (d.kind === 'Deployment') return ((d.spec!['template'] as { spec: { containers: Container[] } }).spec.containers ?? []) as Container[];
  if (d.kind === 'ClusterServingRuntime') return (d.spec!['containers'] as Container[]) ?? [];
  return [];
};
const flag = (args: readonly string[], name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];

test('every argument a manifest passes to the server is a flag it accepts, with a valid value', () => {
  let checked = 0;
  for (const { file, doc } of docs) {
    for (const c of containersOf(doc)) {
      if (!c.args) continue;
      assert.not.throws(() => parseCli(c.args!), `${file} ${c.name}: ${c.args.join(' ')}`);
      checked++;
    }
  }
  assert.ok(checked >= 2, 'the base Deployment and the KServe runtime (the GPU patch passes none)');
});

test('the base Deployment: the grace period covers the drain and three exit timeouts, one process, probes tolerant of a pause, ports match, non-root', () => {
  const { doc } = docs.find((d) => d.doc.kind === 'Deployment' && d.file.includes('base'))!;
  const pod = (doc.spec!['template'] as { spec: Record<string, unknown> }).spec;
  const [c] = containersOf(doc);
  const args = c!.args!;
  const drain = Number(flag(args, 'health-drain-secs'));
  const exit = Number(flag(args, 'exit-timeout-secs'));
  // stop() waits up to the exit timeout three times: gRPC calls, HTTP connections, model unloads.
  assert.ok((pod['terminationGracePeriodSeconds'] as number) > drain + 3 * exit, 'SIGKILL comes after the drain and the exit timeouts');
  assert.is(flag(args, 'server-processes'), '1', "one process per pod: 'auto' counts the node's cores, not the pod's limit");
  assert.is(doc.spec!['replicas'], undefined, 'the HPA owns the replica count');
  assert.ok((c!['readinessProbe'] as { failureThreshold: number }).failureThreshold >= 2, 'one missed check (a GC pause) does not pull the pod');
  assert.ok(
    ((c!['volumeMounts'] as Array<{ mountPath: string }>) ?? []).some((m) => m.mountPath === '/tmp'),
    'a writable /tmp for tsx under readOnlyRootFilesystem',
  );
  const ports = Object.fromEntries(c!.ports!.map((p) => [p.name, p.containerPort]));
  assert.is(ports['grpc'], Number(flag(args, 'grpc-port')));
  assert.is(ports['http'], Number(flag(args, 'http-port')));
  assert.is(ports['metrics'], Number(flag(args, 'metrics-port')));
  for (const probe of ['startupProbe', 'readinessProbe']) {
    const p = c![probe] as { grpc: { port: number; service: string } };
    assert.is(p.grpc.port, ports['grpc'], `${probe} on the gRPC port`);
    assert.is(p.grpc.service, '', `${probe} asks for the server-wide health, which the drain turns NOT_SERVING`);
  }
  assert.is((pod['securityContext'] as { runAsNonRoot: boolean }).runAsNonRoot, true);
});

test('the GPU overlay asks for a GPU; KServe names the gRPC port h2c and speaks v2 on both protocols', () => {
  const gpu = docs.find((d) => d.file.includes('overlays/gpu') && d.doc.kind === 'Deployment')!;
  assert.match(JSON.stringify(gpu.doc), /"nvidia.com\/gpu":1/);
  const runtime = docs.find((d) => d.doc.kind === 'ClusterServingRuntime')!.doc;
  assert.equal(runtime.spec!['protocolVersions'], ['v2', 'grpc-v2']);
  const [c] = containersOf(runtime);
  assert.equal(
    c!.ports!.map((p) => [p.name, p.containerPort]),
    [['h2c', Number(flag(c!.args!, 'grpc-port'))]],
  );
});

test('the autoscaling queries read metrics the server exports', async () => {
  const text = await new PrometheusExporter(() => []).text();
  const exported = new Set([...text.matchAll(/^# HELP (\S+)/gm)].map((m) => m[1]!));
  const names = (d: Doc) => JSON.stringify(d).match(/nv_[a-z_]+/g) ?? [];
  const rule = docs.find((d) => d.file.endsWith('prometheus-adapter-rule.yaml'))!.doc;
  const keda = docs.find((d) => d.doc.kind === 'ScaledObject')!.doc;
  for (const d of [rule, keda]) {
    assert.ok(names(d).length >= 2, 'each carries the expression');
    for (const name of names(d)) assert.ok(exported.has(name), `${name} is exported`);
  }
  const trigger = (keda.spec!['triggers'] as Array<{ metricType?: string }>)[0]!;
  assert.is(trigger.metricType, 'Value', 'the per-pod query is not divided by the replicas again');
});

test('the Dockerfile copies files that exist and runs the server as a non-root user', () => {
  const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
  const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  assert.ok(copies.length >= 5);
  for (const p of copies) assert.ok(existsSync(join(repoRoot, p)), `${p} exists`);
  assert.match(dockerfile, /^USER 1000:1000$/m);
  assert.match(dockerfile, /ENTRYPOINT \["node", "--import", "tsx", "src\/cli\.ts"\]/);
});

/** The schema classes of kubernetes-models (and its KEDA package) for each kind the manifests use. */
async function modelFor(apiVersion: string, kind: string): Promise<(new (o: unknown) => { validate(): void }) | undefined> {
  const path: Record<string, string> = {
    'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
    'v1/Service': 'kubernetes-models/v1/Service',
    'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
    'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    'keda.sh/v1alpha1/ScaledObject': '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject',
  };
  const module = path[`${apiVersion}/${kind}`];
  if (!module) return undefined;
  const m = (await import(module)) as Record<string, new (o: unknown) => { validate(): void }>;
  return m[kind];
}

test('every Kubernetes and KEDA resource validates against its schema offline; the GPU patch too, applied to the base', async () => {
  let validated = 0;
  for (const { file, doc } of docs) {
    if (file.includes('overlays/gpu/gpu.yaml')) continue;
    const Model = await modelFor(String(doc['apiVersion']), String(doc.kind));
    if (!Model) continue;
    assert.not.throws(() => new Model(doc).validate(), `${file} (${doc.kind})`);
    validated++;
  }
  assert.ok(validated >= 6, `the base resources and the ScaledObject (${validated})`);
  const base = structuredClone(docs.find((d) => d.doc.kind === 'Deployment' && d.file.includes('base'))!.doc);
  const patch = docs.find((d) => d.file.includes('overlays/gpu/gpu.yaml'))!.doc;
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
  const Deployment = (await modelFor('apps/v1', 'Deployment'))!;
  assert.not.throws(() => new Deployment(base).validate(), 'the GPU Deployment');
});

test('every kustomization names files that exist', () => {
  for (const { file, doc } of docs.filter((d) => d.doc['kind'] === 'Kustomization')) {
    const dir = join(repoRoot, file, '..');
    for (const r of [
      ...((doc['resources'] as string[]) ?? []),
      ...(((doc['patches'] as Array<{ path?: string }>) ?? []).map((p) => p.path).filter(Boolean) as string[]),
    ]) {
      assert.ok(existsSync(join(dir, r)), `${file}: ${r}`);
    }
  }
});

test.run();
