// npm run bench -- chaos: one fault at a time, under load, and what became of every call:
// answered ok, failed (by gRPC status, one sample message each), or lost (no answer within
// its deadline, or none by the end of the step plus a grace). A row passes when nothing is
// lost and every failure is of a kind, and within a count, that its fault explains; any
// failing row makes the exit code 1. Faults use the test-only switch (TRITON_TS_TEST_FAULTS).
//   npm run bench -- chaos [--seconds 6] [--callers 16]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ServiceError, status } from '@grpc/grpc-js';
import type { ModelInferRequest } from '../src/generated/inference/grpc_service.js';
import { call, connect, simpleRequest, testFault, type InferenceClient } from '../test/helpers/client.js';
import { repoRoot, startServerProcess, type ServerProcess } from '../test/helpers/server-process.js';
import { TempRepo } from '../test/helpers/temp-repo.js';
import { failureKind } from './closed-loop.js';
import { table } from './percentiles.js';

const { values: v } = parseArgs({
  args: process.argv.slice(3),
  options: { seconds: { type: 'string', default: '6' }, callers: { type: 'string', default: '16' } },
});
const holdMs = Number(v.seconds) * 1000;
const callers = Number(v.callers);
const WARM_MS = 2000;
const DEADLINE_MS = 30_000;
/** Past the deadline, so a call still out after it was never answered at all. */
const GRACE_MS = 35_000;
/** A caller pauses after a failure, as a client backs off: a refusing server would otherwise make it spin. */
const RETRY_PAUSE_MS = 20;
const MAX_BATCH = 8;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** `p`, or 'timeout' after `ms`; the timer does not outlive it (it would hold the process open). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
const since = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`;

type Failure = { kind: string; message: string; startedMs: number; endedMs: number };
type Counts = { sent: number; ok: number; lost: number; failures: Failure[] };

/** Closed-loop callers on clients of their own; each call is counted by how it ended. */
class Driver {
  private running = false;
  private pending = 0;
  private readonly loops: Array<Promise<void>> = [];
  private readonly clients: InferenceClient[];
  private readonly counts: Counts = { sent: 0, ok: 0, lost: 0, failures: [] };

  constructor(address: string, connections: number) {
    // A subchannel pool per client: grpc-js would otherwise put them all on one connection.
    this.clients = Array.from({ length: connections }, () => connect(address, { 'grpc.use_local_subchannel_pool': 1 }));
  }

  start(n: number, makeRequest: (caller: number) => ModelInferRequest): void {
    this.running = true;
    for (let i = 0; i < n; i++) this.loops.push(this.loop(this.clients[i % this.clients.length]!, makeRequest(i)));
  }

  /** Stops the callers and waits for their calls; a call still out after the grace is lost. */
  async stop(): Promise<Counts> {
    this.running = false;
    await within(Promise.all(this.loops), GRACE_MS);
    const counts = { ...this.counts, lost: this.counts.lost + this.pending, failures: [...this.counts.failures] };
    for (const c of this.clients) c.close();
    return counts;
  }

  private async loop(client: InferenceClient, req: ModelInferRequest): Promise<void> {
    while (this.running) if (!(await this.send(client, req))) await sleep(RETRY_PAUSE_MS);
  }

  private async send(client: InferenceClient, req: ModelInferRequest): Promise<boolean> {
    const startedMs = performance.now();
    this.counts.sent++;
    this.pending++;
    try {
      await call(client, client.modelInfer, req, DEADLINE_MS);
      this.counts.ok++;
      return true;
    } catch (err) {
      const e = err as ServiceError;
      // grpc-js's own text when the deadline passed with no answer; the server's deadline
      // errors ("deadline passed after ... in the queue", a batch timeout) are answers.
      if (e.code === status.DEADLINE_EXCEEDED && e.details?.startsWith('Deadline exceeded')) this.counts.lost++;
      else this.counts.failures.push({ kind: failureKind(e), message: e.details ?? String(e), startedMs, endedMs: performance.now() });
      return false;
    } finally {
      this.pending--;
    }
  }
}

/** What a fault may make fail (`text` says it): these statuses, at most `max` calls, only calls sent `sentAfterMs` or more after it. */
type Allowance = { text: string; kinds: string[]; max: number; sentAfterMs?: number };
const NOTHING: Allowance = { text: 'nothing', kinds: [], max: 0 };
/** A load of closed-loop callers; `atFault`: it starts with the fault (it is the fault), not before it. */
type Load = { row: string; may: Allowance; callers: number; request(caller: number): ModelInferRequest; connections?: number; atFault?: boolean };
/** `wrong`: the fault did not do what it should, so its rows prove nothing and fail. */
type StepContext = { note(text: string): void; wrong(text: string): void };
/** `until` resolves when the load may stop; without it, --seconds after the fault. */
type Step = { loads: Load[]; inject(ctx: StepContext): Promise<void>; until?(ctx: StepContext): Promise<void> };
type Row = { fault: string; expected: string; counts: Counts; why: string[] };
const rows: Row[] = [];
const notes: string[] = [];

/** Load for WARM_MS, the fault, load for --seconds (or until the step says), then every call awaited. */
async function step(address: string, s: Step): Promise<void> {
  const drivers = s.loads.map((l) => new Driver(address, l.connections ?? 2));
  const begin = (atFault: boolean) => s.loads.forEach((l, i) => (l.atFault ?? false) === atFault && drivers[i]!.start(l.callers, l.request));
  begin(false);
  await sleep(WARM_MS);
  const wrong: string[] = [];
  const ctx: StepContext = { note: (t) => notes.push(`${s.loads[0]!.row}: ${t}`), wrong: (t) => wrong.push(t) };
  const faultAtMs = performance.now();
  begin(true);
  try {
    await s.inject(ctx);
    await (s.until ? s.until(ctx) : sleep(holdMs));
  } catch (err) {
    wrong.push(`the fault went wrong: ${(err as Error).message.split('\n')[0]}`);
  }
  const counts = await Promise.all(drivers.map((d) => d.stop()));
  s.loads.forEach((l, i) => rows.push({ fault: l.row, expected: l.may.text, counts: counts[i]!, why: [...judge(counts[i]!, l.may, faultAtMs), ...wrong] }));
}

function judge(c: Counts, may: Allowance, faultAtMs: number): string[] {
  const why: string[] = [];
  if (c.lost > 0) why.push(`${c.lost} call(s) lost`);
  if (c.ok === 0) why.push('no call succeeded');
  const early = c.failures.filter((f) => f.endedMs < faultAtMs).length;
  if (early > 0) why.push(`${early} call(s) failed before the fault`);
  const stray = [...new Set(c.failures.map((f) => f.kind))].filter((k) => !may.kinds.includes(k));
  if (stray.length > 0) why.push(`failed with ${stray.join(', ')}`);
  if (c.failures.length > may.max) why.push(`${c.failures.length} failed, more than ${may.max}`);
  const after = may.sentAfterMs;
  const soon = after === undefined ? 0 : c.failures.filter((f) => f.startedMs < faultAtMs + after).length;
  if (soon > 0) why.push(`${soon} failed call(s) were sent less than ${after} ms after the fault`);
  return why;
}

// Requests: the bundled `simple` (1 row of 16 INT32s) under another name and version.
const req = (model: string, version = ''): ModelInferRequest => ({ ...simpleRequest(), modelName: model, modelVersion: version });
const load = (row: string, model: string, may = NOTHING): Load => ({ row, may, callers, request: () => req(model) });
/** Sends one request with a test fault, on a connection of its own; says how it ended: "ok" or "STATUS: message". */
async function sendFault(address: string, model: string, fault: string): Promise<string> {
  const client = connect(address);
  const r = { ...req(model), parameters: testFault(fault) };
  try {
    await call(client, client.modelInfer, r, DEADLINE_MS);
    return 'ok';
  } catch (err) {
    return `${failureKind(err)}: ${(err as ServiceError).details}`;
  } finally {
    client.close();
  }
}
/** A fault carried by one extra request, which must be answered `answer`; it is one row of the batch it hits. */
const injectOne = (s: ServerProcess, model: string, fault: string, answer: RegExp) => async (ctx: StepContext) => {
  const outcome = await sendFault(s.address, model, fault);
  ctx.note(`the ${fault} call: ${outcome}`);
  if (!answer.test(outcome)) ctx.wrong(`the ${fault} call was not answered ${answer}`);
};
const itsBatch = (kind: string): Allowance => ({ text: `${kind}, its batch (<= ${MAX_BATCH - 1})`, kinds: [kind], max: MAX_BATCH - 1 });

// A full queue and overload shedding both answer RESOURCE_EXHAUSTED; nothing else may fail.
const refused: Allowance = { text: 'RESOURCE_EXHAUSTED', kinds: ['RESOURCE_EXHAUSTED'], max: Infinity };

const replicaSteps = (s: ServerProcess): Step[] => [
  { loads: [load('worker killed mid-batch', 'killed', itsBatch('INTERNAL'))], inject: injectOne(s, 'killed', 'exit', /^INTERNAL: .*worker thread died/) },
  {
    // Replica 0 fails every batch from now on: its breaker (50 % of a 1 s window) must open and
    // traffic move to replica 1; what fails is replica 0's batches until then, and its
    // half-open probes (one batch per reset timeout) after.
    loads: [load('replica failing', 'failing', { text: "INTERNAL, replica 0's batches until its breaker opens", kinds: ['INTERNAL'], max: Infinity })],
    async inject(ctx) {
      const mark = s.lines.length;
      const t0 = performance.now();
      // The arming request runs normally, on whichever replica: it may meet the failing one.
      ctx.note(`the arming call: ${await sendFault(s.address, 'failing', 'fail-replica:0:1000000')}`);
      const said = await s.waitForLine(/replica failing_0_0 circuit breaker open/, holdMs, mark).then(
        () => 'opened',
        () => 'still closed',
      );
      ctx.note(`the breaker of failing_0_0: ${said} ${since(t0)} after the fault`);
      if (said !== 'opened') ctx.wrong('the breaker of the failing replica did not open');
    },
  },
  {
    loads: [load('replica stalled', 'stalled', itsBatch('DEADLINE_EXCEEDED'))],
    inject: injectOne(s, 'stalled', 'sleep:3000', /^DEADLINE_EXCEEDED: .*batch timeout/),
  },
  {
    // The flood is the fault; the other model shares the server (and its event loop) with it.
    // Two connections for the flood: one holds at most --grpc-max-concurrent-streams (128) calls.
    loads: [
      { ...load('queue filled', 'flood', refused), callers: 200, atFault: true },
      { ...load('queue filled: other model', 'other'), callers: 4, connections: 1 },
    ],
    inject: async () => undefined,
  },
];

const reloadSteps = (s: ServerProcess, repo: TempRepo): Step[] => [
  {
    loads: [load('model reloaded', 'reloaded')],
    async inject(ctx) {
      // A changed file as well, though an explicit load reloads either way.
      repo.write('reloaded/config.pbtxt', `# reloaded by bench-chaos\n${twoReplicas}`);
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${s.httpPort}/v2/repository/models/reloaded/load`, { method: 'POST', body: '{}' });
      ctx.note(`the load answered ${res.status} after ${since(t0)}`);
      if (!res.ok) ctx.wrong(`the load answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    },
  },
];

const pollSteps = (s: ServerProcess, repo: TempRepo): Step[] => [
  {
    // One caller in four pinned to version 1; the rest ask for the latest (2, then 1).
    loads: [{ ...load('version folder deleted', 'versions'), request: (i) => req('versions', i % 4 === 3 ? '1' : '') }],
    async inject(ctx) {
      const mark = s.lines.length;
      const t0 = performance.now();
      repo.remove('versions/2');
      // Logged once version 2 has drained; the load then goes on for --seconds.
      await s.waitForLine(/unloaded 'versions' version 2/, 10_000, mark);
      ctx.note(`version 2 unloaded (drained) ${since(t0)} after its folder went`);
    },
  },
];

const DRAIN_SECS = 1;
// The drain less a little: the calls are timed here, the drain in the server.
const afterDrain: Allowance = {
  text: `UNAVAILABLE, sent after the ${DRAIN_SECS} s drain`,
  kinds: ['UNAVAILABLE'],
  max: Infinity,
  sentAfterMs: DRAIN_SECS * 1000 - 50,
};
const sigtermSteps = (s: ServerProcess): Step[] => [
  {
    loads: [load('SIGTERM', 'drained', afterDrain)],
    async inject() {
      void s.stop('SIGTERM');
    },
    async until(ctx) {
      const t0 = performance.now();
      const code = await within(s.exited, GRACE_MS);
      ctx.note(`the server exited (${code}) ${since(t0)} after SIGTERM`);
      if (code !== 0) ctx.wrong(`the server did not exit 0 (${code})`);
      await sleep(500); // the refusals of a server that is gone count too
    },
  },
];

const twoReplicas = `max_batch_size: ${MAX_BATCH}\ndynamic_batching { }\ninstance_group [ { kind: KIND_CPU, count: 2 } ]\n`;
const param = (key: string, value: string) => `parameters { key: "${key}" value: { string_value: "${value}" } }\n`;
// As in test/e2e/replicas.test.ts; the window stays at its default (10 s), as users get it.
const breaker = param('breaker_volume_threshold', '2') + param('breaker_reset_timeout_ms', '1000');
const copies = (repo: TempRepo, configs: Record<string, string>): TempRepo => {
  for (const [name, config] of Object.entries(configs)) repo.copyBundled('simple', name).write(`${name}/config.pbtxt`, config);
  return repo;
};
/** One server for a group of steps; its repository goes with it. */
async function group(args: string[], repo: TempRepo, steps: (s: ServerProcess, repo: TempRepo) => Step[], env: Record<string, string> = {}): Promise<void> {
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess([`--model-repository=${repo.root}`, '--allow-metrics=false', ...args], 60_000, env);
    for (const s of steps(server, repo)) await step(server.address, s);
  } finally {
    // A server that ignores SIGTERM must not hang the bench.
    if (server && (await within(server.stop(), GRACE_MS)) === 'timeout') server.child.kill('SIGKILL');
    repo.dispose();
  }
}

const replicaRepo = copies(new TempRepo(), {
  killed: twoReplicas + breaker,
  failing: twoReplicas + breaker + param('breaker_window_ms', '1000'),
  stalled: twoReplicas + breaker + param('breaker_timeout_ms', '500'),
  flood: `max_batch_size: ${MAX_BATCH}\ndynamic_batching { default_queue_policy { max_queue_size: 8 } }\ninstance_group [ { kind: KIND_CPU, count: 1 } ]\n`,
}).copyBundled('simple', 'other');
await group([], replicaRepo, replicaSteps, { TRITON_TS_TEST_FAULTS: '1' });
await group(['--model-control-mode=explicit', '--load-model=reloaded'], copies(new TempRepo(), { reloaded: twoReplicas }), reloadSteps);
const onnx = readFileSync(join(repoRoot, 'model-repo', 'simple', '1', 'model.onnx'));
const pollRepo = copies(new TempRepo(), { versions: `${twoReplicas}version_policy { all { } }\n` }).write('versions/2/model.onnx', onnx);
await group(['--model-control-mode=poll', '--repository-poll-secs=1'], pollRepo, pollSteps);
await group([`--health-drain-secs=${DRAIN_SECS}`], copies(new TempRepo(), { drained: twoReplicas }), sigtermSteps);

/** Failures by status: how many, and the first message. */
function byKind(c: Counts): Map<string, { n: number; sample: string }> {
  const m = new Map<string, { n: number; sample: string }>();
  for (const f of c.failures) m.set(f.kind, { n: (m.get(f.kind)?.n ?? 0) + 1, sample: m.get(f.kind)?.sample ?? f.message });
  return m;
}
console.log(
  `simple copies, ${callers} closed-loop callers (queue filled: 200 on the flooded model, 4 on the other), ` +
    `${DEADLINE_MS / 1000} s deadline per call, fault after ${WARM_MS / 1000} s of load, then ${holdMs / 1000} s more`,
);
const failed = (c: Counts) => [...byKind(c)].map(([k, { n }]) => `${k} ${n}`).join(', ') || '-';
const cells = rows.map((r) => [r.fault, r.counts.sent, r.counts.ok, failed(r.counts), r.counts.lost, r.expected, r.why.length === 0 ? 'pass' : 'FAIL']);
console.log(table(['fault', 'sent', 'ok', 'failed', 'lost', 'expected', 'verdict'], cells));
for (const r of rows) for (const [k, { sample }] of byKind(r.counts)) console.log(`${r.fault}: ${k}: ${sample.slice(0, 240)}`);
for (const n of notes) console.log(`note: ${n.slice(0, 240)}`);
for (const r of rows) for (const w of r.why) console.log(`${r.fault}: FAIL: ${w}`);
if (rows.some((r) => r.why.length > 0)) process.exitCode = 1;
