// The replicas of one model version as the scheduler sees them: load, priority, and a
// circuit breaker (opossum) each. Picks the replica for a batch by the model's policy and
// runs it through that replica's breaker; errors and timeouts open a breaker, which takes
// the replica out of rotation until a half-open trial batch succeeds.

import CircuitBreaker from 'opossum';
import { Code, ServeError, everyReplicaOpen, unavailable } from '../errors.js';
import type { RunResult, WireTensor } from '../execution/protocol.js';
import type { ReplicaPicker, ReplicaState } from './policies.js';

export interface BreakerOptions {
  /** A batch running longer than this counts as a failure (0: no limit). */
  timeoutMs: number;
  /** Failure percentage over the rolling window that opens the breaker. */
  errorThresholdPercentage: number;
  /** Batches in the window before the percentage is trusted. */
  volumeThreshold: number;
  /** Time an open breaker waits before letting one trial batch through. */
  resetTimeoutMs: number;
  rollingWindowMs: number;
}

export const defaultBreakerOptions: BreakerOptions = {
  timeoutMs: 0,
  errorThresholdPercentage: 50,
  volumeThreshold: 3,
  resetTimeoutMs: 5000,
  rollingWindowMs: 10_000,
};

export type BreakerState = 'closed' | 'open' | 'half-open';

/** What the replica set needs from the execution side. */
export interface BatchRunner {
  run(replica: number, inputs: WireTensor[], outputNames: string[], fault?: string): Promise<RunResult>;
}

export interface ReplicaInfo {
  name: string;
  priority: number;
  capacity: number;
}

export interface ReplicaSetEvents {
  /** A breaker changed state; room may have appeared or vanished. */
  breakerChanged(replica: string, state: BreakerState, allOpen: boolean): void;
  /** A replica finished a batch (its worker is free again). */
  roomChanged(): void;
}

interface Replica {
  info: ReplicaInfo;
  state: ReplicaState;
  breaker: CircuitBreaker<[WireTensor[], string[], string | undefined], RunResult>;
  /** Batches run to completion, for logs and tests. */
  executed: number;
  /** The worker call the breaker's action started last (set synchronously inside fire). */
  started: Promise<RunResult> | undefined;
}

export class ReplicaSet {
  private readonly replicas: Replica[];

  constructor(
    private readonly model: string,
    runner: BatchRunner,
    infos: ReplicaInfo[],
    private readonly picker: ReplicaPicker,
    private readonly options: BreakerOptions,
    private readonly events: ReplicaSetEvents,
  ) {
    this.replicas = infos.map((info, index) => {
      const state: ReplicaState = { available: true, inFlightBatches: 0, inFlightRows: 0, capacity: info.capacity, priority: info.priority };
      const action = (inputs: WireTensor[], outputs: string[], fault: string | undefined): Promise<RunResult> => {
        const p = runner.run(index, inputs, outputs, fault);
        replica.started = p;
        return p;
      };
      const breaker = new CircuitBreaker(action, {
        timeout: options.timeoutMs > 0 ? options.timeoutMs : false,
        errorThresholdPercentage: options.errorThresholdPercentage,
        volumeThreshold: options.volumeThreshold,
        resetTimeout: options.resetTimeoutMs,
        rollingCountTimeout: options.rollingWindowMs,
        name: info.name,
      });
      const replica: Replica = { info, state, breaker, executed: 0, started: undefined };
      const changed = (s: BreakerState) => () => {
        // Half-open lets exactly one trial batch through (opossum's pendingClose).
        state.available = breaker.closed || breaker.pendingClose;
        events.breakerChanged(info.name, s, this.allOpen());
      };
      breaker.on('open', changed('open'));
      breaker.on('halfOpen', changed('half-open'));
      breaker.on('close', changed('closed'));
      return replica;
    });
  }

  /** Whether some replica in rotation can take a batch now. */
  hasRoom(): boolean {
    return this.replicas.some((r) => r.state.available && r.state.inFlightBatches < r.state.capacity);
  }

  /** True when every replica's breaker is open (none in rotation, none on trial). */
  allOpen(): boolean {
    return this.replicas.every((r) => r.breaker.opened);
  }

  states(): Array<{ name: string; breaker: BreakerState; inFlightBatches: number; executed: number }> {
    return this.replicas.map((r) => ({
      name: r.info.name,
      breaker: r.breaker.closed ? 'closed' : r.breaker.halfOpen ? 'half-open' : 'open',
      inFlightBatches: r.state.inFlightBatches,
      executed: r.executed,
    }));
  }

  /**
   * Runs a batch on the replica the policy picks. Takes the replica's room synchronously,
   * so the caller can ask hasRoom() again at once. Resolves with the result and the
   * replica's name.
   */
  run(rows: number, inputs: WireTensor[], outputNames: string[], fault?: string): { replica: string; done: Promise<RunResult> } {
    const i = this.picker.pick(this.replicas.map((r) => r.state));
    if (i < 0) {
      const err = this.allOpen() ? everyReplicaOpen(this.model) : unavailable(`no replica of model '${this.model}' has room`);
      return { replica: '', done: Promise.reject(err) };
    }
    const r = this.replicas[i]!;
    r.state.inFlightBatches++;
    r.state.inFlightRows += rows;
    r.started = undefined;
    const fired = r.breaker.fire(inputs, outputNames, fault);
    const started = r.started as Promise<RunResult> | undefined;
    r.state.available = r.breaker.closed || r.breaker.pendingClose;
    const done = fired.then(
      (res) => {
        r.executed++;
        return res;
      },
      (err: unknown) => {
        throw this.explain(r, err);
      },
    );
    // The replica is busy until its worker is done, even if the breaker gave up on it first.
    const settle = () => {
      r.state.inFlightBatches--;
      r.state.inFlightRows -= rows;
      r.state.available = r.breaker.closed || r.breaker.pendingClose;
      this.events.roomChanged();
    };
    (started ?? done).then(settle, settle);
    return { replica: r.info.name, done };
  }

  shutdown(): void {
    for (const r of this.replicas) r.breaker.shutdown();
  }

  private explain(r: Replica, err: unknown): ServeError {
    if (err instanceof ServeError) return err;
    const e = err as { code?: string; message?: string };
    if (e.code === 'ETIMEDOUT') {
      return new ServeError(
        Code.DEADLINE_EXCEEDED,
        `model '${this.model}' replica ${r.info.name} took longer than its ${this.options.timeoutMs} ms batch timeout`,
      );
    }
    if (e.code === 'EOPENBREAKER') {
      return new ServeError(Code.UNAVAILABLE, `model '${this.model}' replica ${r.info.name} is out of rotation (circuit breaker open)`);
    }
    return new ServeError(Code.INTERNAL, `model '${this.model}' replica ${r.info.name}: ${e.message ?? String(err)}`, { cause: err });
  }
}
