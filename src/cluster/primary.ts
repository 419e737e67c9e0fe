// --server-processes N: the primary process. It serves no requests: it forks N workers
// that each run the whole server on the same ports (node:cluster hands each new
// connection to one of them; Node 20 has no reusePort), answers the metrics scrape with
// all of them summed, runs each model load or unload and shared memory change in every
// worker (one at a time, so they agree) and replays them into a worker that restarts,
// tells the workers when all of them are ready, and on SIGTERM drains them all.

import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log.js';
import type { CodeValue } from '../errors.js';
import type { OpName } from './link.js';
import type { ToPrimary, ToWorker } from './messages.js';

interface WorkerState {
  worker: Worker;
  index: number;
  /** Said hello: its operations are served, and the replay reached it. */
  serving: boolean;
  ready: boolean;
  /** Was ready once: a process that dies before that failed to start, and is not retried. */
  started: boolean;
}

type Applied = Extract<ToPrimary, { t: 'tts:applied' }>;

/** How long a worker that died unexpectedly waits before it is replaced (a crash loop must not spin). */
const RESPAWN_MS = 1000;
/** How long a scrape waits for one worker's metrics. */
const METRICS_MS = 2000;

export class ClusterPrimary {
  private readonly workers = new Map<number, WorkerState>();
  private nextCid = 1;
  private readonly waiting = new Map<number, { workerId: number; resolve: (a: Applied) => void }>();
  private readonly metricsWaiting = new Map<number, (metrics: unknown) => void>();
  /**
   * Mutating operations, one at a time in every worker so each applies them in the same
   * order: model loads and unloads in one queue, shared memory changes in another (a slow
   * load must not hold up a region). A replay waits for both.
   */
  private readonly queues: Record<'model' | 'shm', Promise<unknown>> = { model: Promise.resolve(), shm: Promise.resolve() };
  /** The cluster was ready once: a process that fails to start after that is retried, not fatal. */
  private wasReady = false;
  private readonly failures = new Map<number, number>();
  /** What a restarted worker must replay: the last load or unload per model, the live regions. */
  private readonly replay = new Map<string, { op: OpName; args: unknown }>();
  private allReady = false;
  private stopping = false;
  private exits: Array<number | null> = [];

  /** `fatal`: a worker could not start (its exit code); the caller stops the others and exits with it. */
  constructor(
    private readonly processes: number,
    private readonly log: Logger,
    private readonly fatal: (code: number) => void,
  ) {}

  start(): void {
    cluster.setupPrimary({ serialization: 'advanced' });
    cluster.on('message', (worker, m: ToPrimary) => this.onMessage(worker, m));
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    for (let i = 0; i < this.processes; i++) this.fork(i);
    this.log.info(`started ${this.processes} server processes (pids ${[...this.workers.values()].map((w) => w.worker.process.pid).join(', ')})`);
  }

  /**
   * Every serving worker's metrics (prom-client JSON) for one scrape. A worker that does not
   * answer within METRICS_MS (busy starting, or gone) is left out rather than failing the scrape.
   */
  async metrics(): Promise<unknown[]> {
    const targets = [...this.workers.values()].filter((w) => w.serving && w.worker.isConnected());
    const answers = await Promise.all(
      targets.map(
        (w) =>
          new Promise<unknown>((resolve) => {
            const cid = this.nextCid++;
            const timer = setTimeout(() => {
              this.metricsWaiting.delete(cid);
              resolve(undefined);
            }, METRICS_MS);
            this.metricsWaiting.set(cid, (m) => {
              clearTimeout(timer);
              resolve(m);
            });
            this.send(w.worker, { t: 'tts:metrics?', cid });
          }),
      ),
    );
    return answers.filter((a) => Array.isArray(a));
  }

  /** Forwards a signal (SIGHUP: reload files) to every worker. */
  signal(sig: NodeJS.Signals): void {
    for (const w of this.workers.values()) w.worker.process.kill(sig);
  }

  /** Drains every worker (SIGTERM); resolves with 0 when all of them exited 0. */
  async stop(): Promise<number> {
    this.stopping = true;
    const exited = [...this.workers.values()].map((w) => new Promise<void>((r) => w.worker.once('exit', () => r())));
    this.signal('SIGTERM');
    await Promise.all(exited);
    return this.exits.every((c) => c === 0) ? 0 : 1;
  }

  /** Ends every worker at once (a second signal). */
  kill(): void {
    this.signal('SIGKILL');
  }

  private fork(index: number): void {
    const worker = cluster.fork({ TRITON_TS_WORKER_INDEX: String(index) });
    this.workers.set(worker.id, { worker, index, serving: false, ready: false, started: false });
  }

  private onMessage(worker: Worker, m: ToPrimary): void {
    const w = this.workers.get(worker.id);
    if (!w || typeof m !== 'object' || m === null || typeof m.t !== 'string') return;
    switch (m.t) {
      case 'tts:hello':
        // The replay goes through both queues, so no operation can fall between it and the broadcasts.
        this.enqueue('all', async () => {
          for (const { op, args } of this.replay.values()) {
            if (!this.workers.has(w.worker.id)) return;
            const a = await this.apply(w, op, args);
            if (!a.ok) this.log.warn(`server process ${w.index}: replaying ${op} failed: ${a.message}`);
          }
          w.serving = true;
          this.send(w.worker, { t: 'tts:caught-up' });
          this.updateReady();
        });
        return;
      case 'tts:ready':
        w.ready = m.ready;
        if (m.ready) w.started = true;
        this.updateReady();
        return;
      case 'tts:call': {
        const run = () =>
          this.everywhere(m.op, m.args)
            .catch((err: unknown) => ({ ok: false as const, code: 13 as CodeValue, message: `the cluster could not run ${m.op}: ${String(err)}` }))
            .then((r) => this.reply(worker, m.id, r));
        if (m.op === 'stats') void run();
        else this.enqueue(m.op === 'load' || m.op === 'unload' ? 'model' : 'shm', run);
        return;
      }
      case 'tts:metrics':
        this.metricsWaiting.get(m.cid)?.(m.metrics);
        this.metricsWaiting.delete(m.cid);
        return;
      case 'tts:applied':
        this.waiting.get(m.cid)?.resolve(m);
        this.waiting.delete(m.cid);
        return;
    }
  }

  private enqueue(kind: 'model' | 'shm' | 'all', work: () => Promise<unknown>): void {
    const after = kind === 'all' ? Promise.all([this.queues.model, this.queues.shm]) : this.queues[kind];
    const next = after.then(work, work).catch((err: unknown) => this.log.error('cluster operation failed (a bug)', { error: String(err) }));
    if (kind !== 'shm') this.queues.model = next;
    if (kind !== 'model') this.queues.shm = next;
  }

  private apply(w: WorkerState, op: OpName, args: unknown): Promise<Applied> {
    const cid = this.nextCid++;
    // A process that is gone answers nothing: it counts as done, its replacement replays.
    if (!this.workers.has(w.worker.id) || !w.worker.isConnected()) return Promise.resolve({ t: 'tts:applied', cid, ok: true, value: [] });
    return new Promise((resolve) => {
      this.waiting.set(cid, { workerId: w.worker.id, resolve });
      this.send(w.worker, { t: 'tts:apply', cid, op, args });
    });
  }

  /** Runs `op` in every serving worker; the first failure is the answer, else every value. */
  private async everywhere(op: OpName, args: unknown): Promise<{ ok: true; values: unknown[] } | { ok: false; code: CodeValue; message: string }> {
    const targets = [...this.workers.values()].filter((w) => w.serving);
    const results = await Promise.all(targets.map((w) => this.apply(w, op, args)));
    const failed = results.find((r) => !r.ok);
    // Done in some processes: a replacement must get it too, whatever the client is told.
    const done = results.find((r) => r.ok);
    if (done?.ok) this.remember(op, op === 'shmRegister' ? { ...(args as object), identity: done.value } : args);
    if (failed && !failed.ok) return { ok: false, code: failed.code as CodeValue, message: failed.message };
    return { ok: true, values: results.map((r) => (r.ok ? r.value : undefined)) };
  }

  private remember(op: OpName, args: unknown): void {
    const a = args as { name: string };
    if (op === 'load' || op === 'unload') this.replay.set(`model:${a.name}`, { op, args });
    else if (op === 'shmRegister') this.replay.set(`shm:${a.name}`, { op, args });
    else if (op === 'shmUnregister') {
      for (const k of [...this.replay.keys()]) if (k.startsWith('shm:') && (a.name === '' || k === `shm:${a.name}`)) this.replay.delete(k);
    }
  }

  private reply(worker: Worker, id: number, r: Awaited<ReturnType<ClusterPrimary['everywhere']>>): void {
    this.send(worker, r.ok ? { t: 'tts:result', id, ok: true, values: r.values } : { t: 'tts:result', id, ok: false, code: r.code, message: r.message });
  }

  private updateReady(): void {
    const all = this.workers.size === this.processes && [...this.workers.values()].every((w) => w.serving && w.ready);
    if (all === this.allReady) return;
    this.allReady = all;
    for (const w of this.workers.values()) this.send(w.worker, { t: 'tts:cluster-ready', ready: all });
    if (all) {
      this.wasReady = true;
      this.failures.clear();
      this.log.info(`ready: true (all ${this.processes} server processes)`);
    }
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const w = this.workers.get(worker.id);
    if (!w) return;
    this.workers.delete(worker.id);
    // The exit code counts the drain: a process that died earlier was replaced.
    if (this.stopping) this.exits.push(code);
    // Operations it will never answer count as done there: its replacement replays them.
    for (const [cid, p] of this.waiting) {
      if (p.workerId !== worker.id) continue;
      this.waiting.delete(cid);
      p.resolve({ t: 'tts:applied', cid, ok: true, value: [] });
    }
    this.updateReady();
    if (this.stopping) return;
    if (!w.started && !this.wasReady) {
      this.log.error(`server process ${w.index} (pid ${worker.process.pid}) exited (${signal ?? code}) before it was ready; stopping`);
      this.fatal(code ?? 1);
      return;
    }
    // A replacement that keeps failing waits longer each time, up to 30 s.
    const failures = w.started ? 0 : (this.failures.get(w.index) ?? 0) + 1;
    this.failures.set(w.index, failures);
    const wait = Math.min(30_000, RESPAWN_MS * 2 ** failures);
    this.log.warn(`server process ${w.index} (pid ${worker.process.pid}) exited (${signal ?? code}); a new one replaces it in ${wait} ms`);
    setTimeout(() => {
      if (!this.stopping) this.fork(w.index);
    }, wait);
  }

  private send(worker: Worker, m: ToWorker): void {
    if (worker.isConnected()) worker.send(m);
  }
}
