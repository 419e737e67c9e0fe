// The link of one worker process of a cluster (cluster/primary.ts): operations that must
// reach every process go to the primary, which runs them in each worker, this one
// included; the primary's requests to run one here are answered from this process's
// operations. This process's readiness is reported as it changes; the cluster's comes back.

import { Code, ServeError, type CodeValue } from '../errors.js';
import type { ClusterLink, ClusterOps, LocalOps, LocalState, OpName } from './link.js';
import type { ToPrimary, ToWorker } from './messages.js';

export class WorkerLink implements ClusterLink {
  readonly servesMetrics = false;
  private ops: LocalOps | undefined;
  private local: LocalState | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown[]) => void; reject: (e: Error) => void }>();
  private allReady = false;
  private reporter: NodeJS.Timeout | undefined;
  private caughtUp: (() => void) | undefined;
  private readonly onMessage = (m: unknown): void => this.handle(m as ToWorker);

  private readonly onDisconnect = (): void => this.close();

  /** Messages go out only while the channel to the primary is open (a send on a closed one throws). */
  constructor(
    private readonly send: (m: ToPrimary) => void = (m) => {
      if (process.connected) process.send?.(m);
    },
  ) {
    process.on('message', this.onMessage);
    process.once('disconnect', this.onDisconnect);
  }

  everywhere<K extends OpName>(op: K, args: ClusterOps[K]['args']): Promise<Array<ClusterOps[K]['result']>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown[]) => void, reject });
      this.send({ t: 'tts:call', id, op, args });
    });
  }

  clusterReady(): boolean {
    return this.allReady;
  }

  serve(ops: LocalOps, local: LocalState): void {
    this.ops = ops;
    this.local = local;
  }

  announce(): Promise<void> {
    const caughtUp = new Promise<void>((resolve) => (this.caughtUp = resolve));
    let last: boolean | undefined;
    const report = (): void => {
      const now = this.local!.ready();
      if (now !== last) this.send({ t: 'tts:ready', ready: now });
      last = now;
    };
    // Readiness is a function of state, not an event: looked at five times a second.
    this.reporter = setInterval(report, 200);
    this.reporter.unref();
    this.send({ t: 'tts:hello' });
    return caughtUp;
  }

  close(): void {
    clearInterval(this.reporter);
    process.off('message', this.onMessage);
    process.off('disconnect', this.onDisconnect);
    for (const p of this.pending.values()) p.reject(new ServeError(Code.UNAVAILABLE, 'the server is shutting down'));
    this.pending.clear();
  }

  private handle(m: ToWorker): void {
    if (typeof m !== 'object' || m === null || typeof (m as { t?: unknown }).t !== 'string') return;
    switch (m.t) {
      case 'tts:apply': {
        const run = this.ops?.[m.op] as ((a: unknown) => Promise<unknown>) | undefined;
        Promise.resolve()
          .then(() => (run ? run(m.args) : Promise.reject(new Error('not serving yet'))))
          .then(
            (value) => this.send({ t: 'tts:applied', cid: m.cid, ok: true, value }),
            (err: unknown) =>
              this.send({
                t: 'tts:applied',
                cid: m.cid,
                ok: false,
                code: err instanceof ServeError ? err.code : Code.INTERNAL,
                message: err instanceof Error ? err.message : String(err),
              }),
          );
        return;
      }
      case 'tts:result': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.values);
        else p.reject(new ServeError(m.code as CodeValue, m.message));
        return;
      }
      case 'tts:caught-up':
        this.caughtUp?.();
        return;
      case 'tts:cluster-ready':
        if (this.allReady !== m.ready) {
          this.allReady = m.ready;
          this.local?.readyChanged();
        }
        return;
      case 'tts:metrics?': {
        const read = this.local?.metrics;
        void (read ? read() : Promise.resolve([])).then(
          (metrics) => this.send({ t: 'tts:metrics', cid: m.cid, metrics }),
          () => this.send({ t: 'tts:metrics', cid: m.cid, metrics: [] }),
        );
        return;
      }
    }
  }
}
