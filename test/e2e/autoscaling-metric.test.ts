// The autoscaling rule against a real scrape: the expression the HPA's prometheus-adapter
// rule and the KEDA trigger use (queueing µs per successful request over a window) is
// computed from two /metrics scrapes around a load, and it rises when requests queue.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { call, connect, int32Buffer } from '../helpers/client.js';
import { repoRoot, startServer, type TestServer } from '../helpers/server-process.js';

const test = suite('the autoscaling metric');
let server: TestServer;

test.before(async () => {
  server = await startServer(['--model-control-mode=explicit', '--load-model=simple']);
});

test.after(async () => {
  await server?.stop();
});

/** One counter of simple's version 1 from the text format. */
async function scrape(): Promise<{ queueUs: number; success: number }> {
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  const value = (name: string): number => Number(new RegExp(`^${name}\\{model="simple",version="1"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { queueUs: value('nv_inference_queue_duration_us'), success: value('nv_inference_request_success') };
}

/** increase(queue) / (1 + increase(success)) over a window, summed over the pod's models: the rule's expression. */
const queueUsPerRequest = (a: { queueUs: number; success: number }, b: { queueUs: number; success: number }): number =>
  (b.queueUs - a.queueUs) / (1 + (b.success - a.success));

const req = () =>
  ModelInferRequest.fromPartial({
    modelName: 'simple',
    inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', shape: [1n, 16n] })),
    rawInputContents: [int32Buffer(Array(16).fill(1)), int32Buffer(Array(16).fill(1))],
  });

test('the manifests compute exactly this expression from these two counters', () => {
  const rule = readFileSync(join(repoRoot, 'deploy', 'k8s', 'prometheus-adapter-rule.yaml'), 'utf8');
  const keda = readFileSync(join(repoRoot, 'deploy', 'k8s', 'overlays', 'keda', 'scaledobject.yaml'), 'utf8');
  const shape =
    /sum by \([^)]*\) \(increase\(nv_inference_queue_duration_us\{[^}]*\}\[2m\]\)\)\s*\/\s*\(1 \+ sum by \([^)]*\) \(increase\(nv_inference_request_success\{[^}]*\}\[2m\]\)\)\)/;
  assert.match(rule, shape);
  assert.match(keda, shape);
});

test('it stays low for one caller at a time and rises when 64 callers queue', async () => {
  const clients = Array.from({ length: 4 }, () => connect(server.address));
  try {
    const a = await scrape();
    for (let i = 0; i < 100; i++) await call(clients[0]!, clients[0]!.modelInfer, req());
    const b = await scrape();
    const calm = queueUsPerRequest(a, b);
    await Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        const c = clients[i % clients.length]!;
        for (let k = 0; k < 10; k++) await call(c, c.modelInfer, req());
      }),
    );
    const d = await scrape();
    const busy = queueUsPerRequest(b, d);
    assert.ok(Number.isFinite(calm) && Number.isFinite(busy), `${calm} ${busy}`);
    assert.is(d.success - b.success, 640, 'every request counted once');
    assert.ok(busy > 5 * calm, `queueing per request rises with the load: ${calm.toFixed(0)} µs alone, ${busy.toFixed(0)} µs with 64 callers`);
  } finally {
    for (const c of clients) c.close();
  }
});

test.run();
