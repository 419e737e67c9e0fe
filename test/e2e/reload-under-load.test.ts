// Model lifecycle under traffic: while a loop in the test keeps sending requests, a new
// version is added and the old one removed (poll mode, then explicit mode); no request
// may fail and the answers switch to the new version. A bad config.pbtxt dropped into
// the polled repository leaves the serving version serving. Metrics scraped over HTTP
// match ModelStatistics and the number of requests sent.

import { get } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ModelInferRequest } from '../../src/generated/inference/grpc_service.js';
import { addModel } from '../../scripts/onnx-builder.js';
import { call, connect, float32Buffer, readFloat32, type InferenceClient } from '../helpers/client.js';
import { startServer } from '../helpers/server-process.js';
import { TempRepo } from '../helpers/temp-repo.js';

const CONFIG =
  'max_batch_size: 8\ndynamic_batching { }\ninput [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]\n';

/** Requests in a loop at a fixed concurrency; records which version answered and failures. */
class LoadLoop {
  sent = 0;
  ok = 0;
  failures: string[] = [];
  versions: string[] = [];
  private running = true;
  private readonly workers: Array<Promise<void>>;
  private waiters: Array<{ test: () => boolean; resolve: () => void }> = [];

  constructor(client: InferenceClient, model: string, concurrency: number) {
    this.workers = Array.from({ length: concurrency }, async (_, w) => {
      for (let k = 0; this.running; k++) {
        const x = w * 1000 + k;
        this.sent++;
        try {
          const res = await call(
            client,
            client.modelInfer,
            ModelInferRequest.fromPartial({
              modelName: model,
              inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1n, 4n] }],
              rawInputContents: [float32Buffer([x, x, x, x])],
            }),
          );
          const v = Number(res.modelVersion);
          const out = readFloat32(res.rawOutputContents[0]!);
          if (out.some((y) => y !== x + v)) this.failures.push(`version ${v} answered ${out} for ${x}`);
          this.ok++;
          this.versions.push(res.modelVersion);
        } catch (err) {
          this.failures.push((err as Error).message);
        }
        this.check();
      }
    });
  }

  /** Resolves once `test` holds (checked after every response). */
  until(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.test()) return true;
      w.resolve();
      return false;
    });
  }
}

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

const test = suite('reload under load');
let repo: TempRepo;

test.before(() => {
  repo = new TempRepo();
});

test.after(() => repo?.dispose());

test('poll mode: a new version replaces the old one under load with zero failed requests; metrics match', async () => {
  repo.write('live/config.pbtxt', CONFIG).write('live/1/model.onnx', addModel(1));
  const server = await startServer([
    `--model-repository=${repo.root}`,
    '--model-control-mode=poll',
    '--repository-poll-secs=0.2',
    '--metrics-config=summary_latencies=true',
  ]);
  const client = connect(server.address);
  try {
    const loop = new LoadLoop(client, 'live', 4);
    await loop.until(() => loop.ok >= 30);
    repo.write('live/2/model.onnx', addModel(2));
    await loop.until(() => loop.versions.slice(-20).length === 20 && loop.versions.slice(-20).every((v) => v === '2'));
    const beforeRemoval = server.lines.length;
    repo.remove('live/1');
    await server.waitForLine(/successfully loaded 'live' version 2/, 10_000, beforeRemoval);
    const mark = loop.ok;
    await loop.until(() => loop.ok >= mark + 30);
    // A bad config dropped in: the serving version keeps serving and the index says why.
    const beforeBad = server.lines.length;
    repo.write('live/config.pbtxt', 'max_batch_size: 8\ninput [ { name: "INPUT0" colour: 1 } ]\n');
    await server.waitForLine(/failed to load 'live': .*unknown field 'colour'/, 10_000, beforeBad);
    const afterBad = loop.ok;
    await loop.until(() => loop.ok >= afterBad + 30);
    await loop.stop();

    assert.equal(loop.failures, [], `${loop.failures.length} of ${loop.sent} requests failed`);
    assert.ok(loop.versions.includes('1') && loop.versions.at(-1) === '2', 'answers switched from version 1 to 2');
    const { models } = await call(client, client.repositoryIndex, { repositoryName: '', ready: false });
    const v2 = models.find((m) => m.name === 'live' && m.version === '2')!;
    assert.is(v2.state, 'READY');
    assert.match(v2.reason, /serving the previously loaded model; reload failed: .*config\.pbtxt:2:\d+: unknown field 'colour'/, v2.reason);
    assert.is(models.find((m) => m.name === 'live' && m.version === '1')!.state, 'UNAVAILABLE');

    // Prometheus and ModelStatistics tell the same story, and it is the test's own count.
    const stats = (await call(client, client.modelStatistics, { name: 'live', version: '' })).modelStats;
    const text = await scrape(server.metricsPort);
    let promSuccess = 0;
    for (const s of stats) {
      const l = `model="live",version="${s.version}"`;
      assert.is(metric(text, 'nv_inference_request_success', l), Number(s.inferenceStats!.success!.count), `success v${s.version}`);
      assert.is(metric(text, 'nv_inference_count', l), Number(s.inferenceCount), `inference count v${s.version}`);
      assert.is(metric(text, 'nv_inference_exec_count', l), Number(s.executionCount), `exec count v${s.version}`);
      assert.is(metric(text, 'nv_inference_queue_duration_us', l), Number(s.inferenceStats!.queue!.ns) / 1000);
      promSuccess += metric(text, 'nv_inference_request_success', l);
    }
    assert.is(promSuccess, loop.ok, 'every request the test sent is counted once');
    assert.is(metric(text, 'nv_inference_request_failure', 'model="live",version="2",reason="BACKEND"'), 0);
    assert.match(text, /nv_inference_pending_request_count\{model="live",version="2"\} 0/);
    assert.match(text, /triton_ts_replica_breaker_state\{model="live",version="2",replica="live_0_0"\} 0/);
    assert.match(text, /nv_inference_request_summary_us\{quantile="0.99",model="live",version="2"\}/);
    assert.match(text, /triton_ts_batch_rows_bucket\{le="1",model="live",version="2"\}/);
    assert.match(text, /process_resident_memory_bytes/);
    assert.match(text, /nv_cpu_memory_used_bytes/);
  } finally {
    client.close();
    await server.stop();
  }
});

test('explicit mode: RepositoryModelLoad swaps versions under load with zero failed requests', async () => {
  repo.remove('live').write('live/config.pbtxt', CONFIG).write('live/1/model.onnx', addModel(1));
  const server = await startServer([`--model-repository=${repo.root}`, '--model-control-mode=explicit', '--load-model=live']);
  const client = connect(server.address);
  try {
    const loop = new LoadLoop(client, 'live', 4);
    await loop.until(() => loop.ok >= 30);
    repo.write('live/2/model.onnx', addModel(2)).remove('live/1');
    await call(client, client.repositoryModelLoad, { repositoryName: '', modelName: 'live', parameters: {} });
    await loop.until(() => loop.versions.slice(-20).length === 20 && loop.versions.slice(-20).every((v) => v === '2'));
    await call(client, client.repositoryModelLoad, { repositoryName: '', modelName: 'live', parameters: {} });
    const mark = loop.ok;
    await loop.until(() => loop.ok >= mark + 30);
    await loop.stop();
    assert.equal(loop.failures, [], `${loop.failures.length} of ${loop.sent} requests failed`);
    assert.ok(loop.versions.includes('1') && loop.versions.at(-1) === '2');
  } finally {
    client.close();
    await server.stop();
  }
});

test('--allow-metrics=false serves no metrics endpoint', async () => {
  const server = await startServer([`--model-repository=${repo.root}`, '--allow-metrics=false']);
  try {
    assert.is(server.metricsPort, 0);
    assert.not.ok(server.lines.some((l) => /metrics service/.test(l)));
  } finally {
    await server.stop();
  }
});

test.run();
