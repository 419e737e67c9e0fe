// npm run soak -- --minutes N (also `npm run bench -- soak`, 2 minutes): hours of mixed
// load on one server. Every bundled model over gRPC and HTTP at once (closed loops), a
// stream of malformed requests, the repository polled every 2 s and one model's config
// changed every minute (so it reloads under load). Every --sample-secs it records the
// server's RSS, JS heap, event-loop delay p99 and open handles (its /metrics), the calls of
// that window, their p50/p99, errors and calls with no answer, and writes soak.csv and
// soak.svg to --out. Passes when RSS after --warmup-secs grew less than 10 %, every call
// was answered and none failed, no malformed request got a server error, and the server
// is still up.
//   npm run soak -- --minutes 60 [--sample-secs 10] [--warmup-secs 300] [--concurrency 4]
//                   [--malformed-per-sec 20] [--out loadtest/results/soak]

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, startServerProcess } from '../test/helpers/server-process.js';
import { TempRepo } from '../test/helpers/temp-repo.js';
import { timeSeriesSvg } from './plot-time.js';
import { LoadSession, type StepResult } from './session.js';
import { MalformedStream, processSample, type ProcessSample } from './soak-probe.js';
import type { Protocol } from './transports.js';

const { values: v } = parseArgs({
  args: process.argv.slice(3),
  options: {
    minutes: { type: 'string', default: '2' },
    'sample-secs': { type: 'string', default: '10' },
    'warmup-secs': { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    'malformed-per-sec': { type: 'string', default: '20' },
    out: { type: 'string', default: join(repoRoot, 'loadtest', 'results', 'soak') },
  },
});
const totalS = Number(v.minutes) * 60;
const sampleS = Number(v['sample-secs']);
// Memory settles once every code path has run and the heap has grown to its working size.
const warmupS = Number(v['warmup-secs'] ?? Math.min(300, Math.max(30, totalS / 4)));
const out = resolve(v.out!);

const models = ['simple', 'add_version', 'identity_fp32', 'identity_bytes', 'ocr_cls'];
const repo = new TempRepo();
for (const m of models) repo.copyBundled(m);
const simpleConfig = readFileSync(join(repo.root, 'simple', 'config.pbtxt'), 'utf8');
const server = await startServerProcess([`--model-repository=${repo.root}`, '--model-control-mode=poll', '--repository-poll-secs=2']);

interface Row extends ProcessSample {
  tS: number;
  calls: number;
  errors: number;
  unanswered: number;
  p50Ms: number;
  p99Ms: number;
  malformedSent: number;
  malformedWrong: number;
  reloads: number;
}
const rows: Row[] = [];
const sessions: LoadSession[] = [];
const malformed = new MalformedStream(server.address, server.httpPort, Number(v['malformed-per-sec']));
const errorKinds: Record<string, number> = {};
const errorSamples: Record<string, string> = {};
let reloads = 0;
let serverUp = true;
try {
  for (const model of models) {
    for (const protocol of ['grpc', 'http'] as Protocol[]) {
      const url = protocol === 'grpc' ? server.address : `127.0.0.1:${server.httpPort}`;
      const s = await new LoadSession(url, model, '', { protocol, timeoutMs: 30_000, connections: 1, workers: 1 }).init({
        batchSize: 1,
        shapes: {},
        data: 'random',
      });
      await s.warmUp(8);
      sessions.push(s);
    }
  }
  malformed.start();
  const started = performance.now();
  let nextReloadS = 60;
  let malformedBefore = { sent: 0, wrong: 0 };
  while ((performance.now() - started) / 1000 < totalS) {
    const step = Promise.all(
      sessions.map((s, i) => s.measure({ mode: 'concurrency', level: Number(v.concurrency) }, sampleS * 1000, 10_000_000, i + rows.length)),
    );
    const tS = (performance.now() - started) / 1000;
    if (tS >= nextReloadS) {
      // A changed config: the next poll reloads `simple` while its callers keep calling.
      repo.write('simple/config.pbtxt', `${simpleConfig}\n# soak reload ${++reloads}\n`);
      nextReloadS += 60;
    }
    const results: StepResult[] = await step;
    const sample = await processSample(server.metricsPort);
    rows.push({ ...sample, ...windowOf(results), tS: (performance.now() - started) / 1000, ...malformedDelta(), reloads });
    const r = rows.at(-1)!;
    console.log(
      `${r.tS.toFixed(0).padStart(5)} s  rss ${(r.rssBytes / 2 ** 20).toFixed(0)} MiB  heap ${(r.heapUsedBytes / 2 ** 20).toFixed(0)} MiB  loop p99 ${r.loopP99Ms.toFixed(1)} ms  ` +
        `handles ${r.handles}  calls ${r.calls}  p50 ${r.p50Ms.toFixed(1)} ms  p99 ${r.p99Ms.toFixed(1)} ms  errors ${r.errors}  unanswered ${r.unanswered}  malformed ${r.malformedSent} (${r.malformedWrong} wrong)`,
    );
  }
  function malformedDelta() {
    const d = { malformedSent: malformed.sent - malformedBefore.sent, malformedWrong: malformed.wrong - malformedBefore.wrong };
    malformedBefore = { sent: malformed.sent, wrong: malformed.wrong };
    return d;
  }
} catch (err) {
  serverUp = false;
  console.error(`soak stopped: ${(err as Error).message}`);
} finally {
  await malformed.stop();
  for (const s of sessions) await s.close();
  const code = await server.stop();
  if (code !== 0) serverUp = false;
  repo.dispose();
}

/** One window over all sessions: calls, errors by kind, and latency percentiles weighted by calls. */
function windowOf(results: StepResult[]) {
  let calls = 0;
  let errors = 0;
  let unanswered = 0;
  for (const r of results) {
    calls += r.requests + r.errors;
    errors += r.errors;
    for (const [k, n] of Object.entries(r.failureKinds)) {
      errorKinds[k] = (errorKinds[k] ?? 0) + n;
      errorSamples[k] ??= `${r.model}: ${r.failureSamples[k]}`;
      // The client's own 30 s deadline: the server never answered.
      if (k === 'DEADLINE_EXCEEDED' || k === 'other') unanswered += n;
    }
  }
  // The worst window p99 of any model/frontend, and the median model's p50.
  const p50s = results.map((r) => r.p50Ms).sort((a, b) => a - b);
  return { calls, errors, unanswered, p50Ms: p50s[Math.floor(p50s.length / 2)] ?? Number.NaN, p99Ms: Math.max(...results.map((r) => r.p99Ms)) };
}

mkdirSync(out, { recursive: true });
const header =
  't_s,rss_mib,heap_used_mib,loop_p99_ms,handles,calls,errors,unanswered,p50_ms_median_model,p99_ms_worst_model,malformed_sent,malformed_wrong,reloads';
const csvRows = rows.map((r) =>
  [
    r.tS.toFixed(1),
    (r.rssBytes / 2 ** 20).toFixed(1),
    (r.heapUsedBytes / 2 ** 20).toFixed(1),
    r.loopP99Ms.toFixed(2),
    r.handles,
    r.calls,
    r.errors,
    r.unanswered,
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.malformedSent,
    r.malformedWrong,
    r.reloads,
  ].join(','),
);
writeFileSync(join(out, 'soak.csv'), `${[header, ...csvRows].join('\n')}\n`);
const times = rows.map((r) => r.tS);
writeFileSync(
  join(out, 'soak.svg'),
  timeSeriesSvg(
    `soak: ${models.length} models x gRPC + HTTP, ${Number(v.concurrency)} callers each, ${(totalS / 60).toFixed(0)} min, ${new Date().toISOString().slice(0, 10)}`,
    times,
    [
      { title: 'server RSS', unit: 'MiB', values: rows.map((r) => r.rssBytes / 2 ** 20) },
      { title: 'JS heap used', unit: 'MiB', values: rows.map((r) => r.heapUsedBytes / 2 ** 20) },
      { title: 'event-loop delay p99', unit: 'ms', values: rows.map((r) => r.loopP99Ms) },
      { title: 'open handles', unit: 'count', values: rows.map((r) => r.handles) },
      { title: 'p99, worst model/frontend per window', unit: 'ms', values: rows.map((r) => r.p99Ms) },
      { title: 'calls per window', unit: 'count', values: rows.map((r) => r.calls) },
      { title: 'errors per window', unit: 'count', values: rows.map((r) => r.errors) },
    ],
    [{ atS: warmupS, label: 'warm-up ends' }],
  ),
);

const afterWarmup = rows.filter((r) => r.tS >= warmupS);
const base = afterWarmup[0];
const last = rows.at(-1);
const growth = base && last ? last.rssBytes / base.rssBytes - 1 : Number.NaN;
const peak = Math.max(...afterWarmup.map((r) => r.rssBytes));
const sum = (f: (r: Row) => number) => rows.reduce((n, r) => n + f(r), 0);
const unanswered = sum((r) => r.unanswered);
const wrong = sum((r) => r.malformedWrong);
console.log(
  `\nsoak ${(totalS / 60).toFixed(1)} min: ${sum((r) => r.calls)} calls, ${sum((r) => r.errors)} errors (${
    Object.entries(errorKinds)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none'
  }), ${unanswered} unanswered; ` + `${sum((r) => r.malformedSent)} malformed (${wrong} answered wrongly); ${reloads} reloads of simple`,
);
for (const [k, m] of Object.entries(errorSamples)) console.log(`  ${k}: ${m}`);
for (const s of malformed.wrongSamples) console.log(`  malformed answered wrongly: ${s}`);
console.log(
  `RSS after warm-up (${warmupS} s): ${base ? (base.rssBytes / 2 ** 20).toFixed(0) : '-'} MiB -> ${last ? (last.rssBytes / 2 ** 20).toFixed(0) : '-'} MiB at the end ` +
    `(${(growth * 100).toFixed(1)} %), peak ${(peak / 2 ** 20).toFixed(0)} MiB; csv and svg in ${out}`,
);
// Valid calls at this load must all succeed: an error of any kind fails the soak too.
const errors = sum((r) => r.errors);
const pass = serverUp && base !== undefined && growth < 0.1 && unanswered === 0 && errors === 0 && wrong === 0;
console.log(
  pass ? 'soak: PASS' : 'soak: FAIL (RSS growth >= 10 %, a call failed or went unanswered, a malformed request answered wrongly, or the server went down)',
);
if (!pass) process.exitCode = 1;
