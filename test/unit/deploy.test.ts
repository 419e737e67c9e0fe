// deploy/: every argument the manifests pass is a flag the server accepts, the drain fits
// in the grace period, probes and ports agree with the arguments, the autoscaling queries
// name metrics the server exports, and the Dockerfile copies what exists.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCli } from '../../src/cli-options.js';
import { PrometheusExporter } from '../../src/metrics/prometheus.js';
import { containersOf, type Doc, deployDir as deploy, deployDocs } from '../helpers/deploy-docs.js';
import { repoRoot } from '../helpers/server-process.js';

const docs = deployDocs();
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

test('the GPU overlay asks for a GPU; KServe speaks v2 on both protocols, HTTP on its default port and gRPC where an InferenceService names h2c', () => {
  const gpu = docs.find((d) => d.file.includes('overlays/gpu') && d.doc.kind === 'Deployment')!;
  assert.match(JSON.stringify(gpu.doc), /"nvidia.com\/gpu":1/);
  const runtime = docs.find((d) => d.doc.kind === 'ClusterServingRuntime')!.doc;
  assert.equal(runtime.spec!['protocolVersions'], ['v2', 'grpc-v2']);
  const [c] = containersOf(runtime);
  // KServe routes to a runtime's first port, or to 8080 when it declares none; Knative allows one.
  assert.is(c!.ports, undefined, 'no ports: KServe routes HTTP to 8080');
  assert.is(flag(c!.args!, 'http-port'), '8080');
  const services = docs.filter((d) => d.doc.kind === 'InferenceService').map((d) => d.doc);
  const predictor = (d: Doc) => (d.spec!['predictor'] as { model: { protocolVersion: string; ports?: Array<{ name: string; containerPort: number }> } }).model;
  const http = services.find((d) => predictor(d).protocolVersion === 'v2')!;
  assert.is(predictor(http).ports, undefined);
  const grpc = services.find((d) => predictor(d).protocolVersion === 'grpc-v2')!;
  assert.equal(
    predictor(grpc).ports!.map((p) => [p.name, p.containerPort]),
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
  const trigger = (keda.spec!['triggers'] as Array<{ metricType?: string; metadata: Record<string, string> }>)[0]!;
  assert.is(trigger.metricType, 'Value', 'the per-pod query is not divided by the replicas again');
  assert.is(trigger.metadata['ignoreNullValues'], 'false', 'a query that matches nothing is an error, not a silent 0');
  assert.not.match(trigger.metadata['query']!, /app_kubernetes_io/, 'it selects on labels every scrape setup adds (namespace, pod)');
  // Queue time says when to add pods; a metric that grows with load holds them, one pod removed at a time.
  const hpa = docs.find((d) => d.doc.kind === 'HorizontalPodAutoscaler')!.doc;
  assert.ok((hpa.spec!['metrics'] as Array<{ type: string }>).some((m) => m.type === 'Resource'));
  assert.ok((keda.spec!['triggers'] as Array<{ type: string }>).some((t) => t.type === 'cpu'));
  for (const behavior of [
    hpa.spec!['behavior'],
    (keda.spec!['advanced'] as { horizontalPodAutoscalerConfig: { behavior: unknown } }).horizontalPodAutoscalerConfig.behavior,
  ]) {
    assert.equal((behavior as { scaleDown: { policies: unknown } }).scaleDown.policies, [{ type: 'Pods', value: 1, periodSeconds: 120 }]);
  }
});

test('the PodMonitor scrapes the metrics port of the pods the Deployment makes', () => {
  const { doc } = docs.find((d) => d.doc.kind === 'Deployment' && d.file.includes('base'))!;
  const monitor = docs.find((d) => d.doc.kind === 'PodMonitor')!.doc;
  const labels = (doc.spec!['template'] as { metadata: { labels: Record<string, string> } }).metadata.labels;
  const selector = (monitor.spec!['selector'] as { matchLabels: Record<string, string> }).matchLabels;
  for (const [k, v] of Object.entries(selector)) assert.is(labels[k], v, `the pods carry ${k}=${v}`);
  const [c] = containersOf(doc);
  const [endpoint] = monitor.spec!['podMetricsEndpoints'] as Array<{ port: string }>;
  const port = c!.ports!.find((p) => p.name === endpoint!.port);
  assert.is(port?.containerPort, Number(flag(c!.args!, 'metrics-port')), 'the named port is the one --metrics-port serves');
});

test('the Dockerfile copies files that exist and runs the server as a non-root user', () => {
  const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
  const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  assert.ok(copies.length >= 5);
  for (const p of copies) assert.ok(existsSync(join(repoRoot, p)), `${p} exists`);
  assert.match(dockerfile, /^USER 1000:1000$/m);
  assert.match(dockerfile, /ENTRYPOINT \["node", "--import", "tsx", "src\/cli\.ts"\]/);
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
