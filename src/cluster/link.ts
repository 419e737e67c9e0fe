// What one server process asks of all of them. With --server-processes above 1 every
// process serves the same ports (node:cluster hands each connection to one of them), so
// a change a client makes through one process (a model load or unload, a shared memory
// region) must reach every process, and a question about all of them (statistics,
// readiness) must ask every process. A single process is its own cluster.

import type { ModelRepositoryParameter, ModelStatistics } from '../generated/inference/grpc_service.js';

/** The operations run in every process, with their arguments and each process's result. */
export interface ClusterOps {
  load: { args: { name: string; parameters: Record<string, ModelRepositoryParameter> }; result: null };
  unload: { args: { name: string }; result: null };
  /** The result is the object's identity; a replay passes it back so a replaced object is refused. */
  shmRegister: { args: { name: string; key: string; offset: number; byteSize: number; identity?: string }; result: string };
  shmUnregister: { args: { name: string }; result: null };
  stats: { args: { name: string; version: string }; result: ModelStatistics[] };
}

export type OpName = keyof ClusterOps;

/** This process's implementation of each operation. */
export type LocalOps = { [K in OpName]: (args: ClusterOps[K]['args']) => Promise<ClusterOps[K]['result']> };

export interface ClusterLink {
  /** Runs `op` in every process, this one included; resolves with each result, rejects with the first failure. */
  everywhere<K extends OpName>(op: K, args: ClusterOps[K]['args']): Promise<Array<ClusterOps[K]['result']>>;
  /** Whether this process listens for the metrics scrape (a cluster's primary does it for its workers). */
  readonly servesMetrics: boolean;
  /** Whether every process of the cluster reports ready (a single process: true). */
  clusterReady(): boolean;
  /**
   * Gives the link this process's operations and state (once the server is built):
   * whether it is ready, what to do when the cluster's readiness changes, its metrics.
   */
  serve(ops: LocalOps, local: LocalState): void;
  /** This process has started (its start-up loads are done); resolves once the cluster has caught it up. */
  announce(): Promise<void>;
  close(): void;
}

export interface LocalState {
  ready(): boolean;
  readyChanged(): void;
  /** This process's metrics for the primary's scrape (prom-client JSON), if it has metrics. */
  metrics?: (() => Promise<unknown>) | undefined;
}

/** The link of a server that is the only process. */
export class LocalLink implements ClusterLink {
  readonly servesMetrics = true;
  private ops: LocalOps | undefined;

  async everywhere<K extends OpName>(op: K, args: ClusterOps[K]['args']): Promise<Array<ClusterOps[K]['result']>> {
    return [await (this.ops![op] as (a: ClusterOps[K]['args']) => Promise<ClusterOps[K]['result']>)(args)];
  }

  clusterReady(): boolean {
    return true;
  }

  serve(ops: LocalOps): void {
    this.ops = ops;
  }

  async announce(): Promise<void> {}

  close(): void {}
}
