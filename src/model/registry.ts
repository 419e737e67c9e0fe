// The table of models and their versions: state, reason, and the serving handle of each
// ready version. The repository module writes it; the frontend only reads it.

import type { ModelConfig } from '../generated/inference/model_config.js';
import { modelLoading, modelNotFound, noReadyVersion, versionNotFound, versionNotInteger, versionNotReady } from '../errors.js';
import type { ModelStats } from '../metrics/model-stats.js';
import type { InferenceRequest, InferenceResult, ModelState } from './types.js';

export interface ReplicaStatus {
  name: string;
  breaker: 'closed' | 'open' | 'half-open';
  inFlightBatches: number;
  executed: number;
}

/** A loaded, ready version. Owned by the registry entry that holds it. */
export interface ServingVersion {
  readonly version: number;
  readonly stats: ModelStats;
  /** Overload shedding's limit for this version (0: off); also how long a request may wait at the in-flight gate. */
  readonly maxQueueWaitMs: number;
  /** Requests queued or running. */
  readonly pendingRequests: number;
  replicaStates(): ReplicaStatus[];
  /**
   * Throws (RESOURCE_EXHAUSTED) when the request should be refused at arrival: the model is
   * overloaded and `source` (the client connection) sends at least its share of the backlog.
   * An admitted request is followed by infer(), or by abandon() if it fails first.
   */
  admit(request: InferenceRequest, source: string): void;
  abandon(request: InferenceRequest): void;
  infer(request: InferenceRequest): Promise<InferenceResult>;
  /** Stops taking requests, lets in-flight ones finish, releases sessions and threads. */
  close(): Promise<void>;
}

export interface VersionEntry {
  readonly version: number;
  state: ModelState;
  reason: string;
  serving: ServingVersion | undefined;
  /** Kept after unload so ModelStatistics still reports what the version served. */
  stats: ModelStats | undefined;
}

export interface ModelEntry {
  readonly name: string;
  /** The completed config; undefined while the model has never loaded successfully. */
  config: ModelConfig | undefined;
  /** Model-level state: LOADING while a load is in progress, UNAVAILABLE when the config failed. */
  state: ModelState | undefined;
  reason: string;
  versions: Map<number, VersionEntry>;
}

export interface Resolved {
  model: ModelEntry;
  config: ModelConfig;
  version: VersionEntry;
  serving: ServingVersion;
}

export class ModelRegistry {
  private readonly models = new Map<string, ModelEntry>();

  entry(name: string): ModelEntry | undefined {
    return this.models.get(name);
  }

  /** Creates the entry if needed. */
  ensure(name: string): ModelEntry {
    let e = this.models.get(name);
    if (!e) {
      e = { name, config: undefined, state: undefined, reason: '', versions: new Map() };
      this.models.set(name, e);
    }
    return e;
  }

  /** Forgets a model that never got a state (e.g. a load of a name not in the repository). */
  forgetIfEmpty(name: string): void {
    const e = this.models.get(name);
    if (e && e.state === undefined && e.versions.size === 0 && !e.config) this.models.delete(name);
  }

  /** Drops a model's entry altogether (a load of a model that exists only in the failed request). */
  forget(name: string): void {
    this.models.delete(name);
  }

  all(): ModelEntry[] {
    return [...this.models.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** True when every model that was asked to load has at least one ready version and none is loading. */
  allReady(): boolean {
    for (const m of this.models.values()) {
      if (m.state === 'LOADING') return false;
      for (const v of m.versions.values()) if (v.state === 'LOADING') return false;
    }
    return true;
  }

  isReady(name: string, version: string): boolean {
    try {
      this.resolve(name, version);
      return true;
    } catch {
      return false;
    }
  }

  /** The entry of a model the registry knows: it has a state or a version (an empty shell does not count). */
  known(name: string): ModelEntry | undefined {
    const e = this.models.get(name);
    return e && (e.state !== undefined || e.versions.size > 0) ? e : undefined;
  }

  /**
   * The version that serves a request: `version` as given, or the highest ready version
   * when it is empty. Errors: NOT_FOUND, INVALID_ARGUMENT (not an integer), UNAVAILABLE.
   */
  resolve(name: string, version: string): Resolved {
    const model = this.known(name);
    if (!model) throw modelNotFound(name);
    checkVersion(name, version);
    if (version !== '') {
      const n = Number(version);
      const v = model.versions.get(n);
      if (!v) {
        throw versionNotFound(
          name,
          n,
          [...model.versions.keys()].sort((a, b) => a - b),
        );
      }
      if (v.state !== 'READY' || !v.serving || !model.config) {
        throw versionNotReady(name, n, v.state, v.reason);
      }
      return { model, config: model.config, version: v, serving: v.serving };
    }
    if (model.state === 'LOADING' && ![...model.versions.values()].some((v) => v.state === 'READY')) {
      throw modelLoading(name);
    }
    let best: VersionEntry | undefined;
    for (const v of model.versions.values()) {
      if (v.state === 'READY' && v.serving && (!best || v.version > best.version)) best = v;
    }
    if (!best || !model.config) {
      const why = model.reason || [...model.versions.values()].map((v) => `version ${v.version} ${v.state}${v.reason ? `: ${v.reason}` : ''}`).join('; ');
      throw noReadyVersion(name, why);
    }
    return { model, config: model.config, version: best, serving: best.serving! };
  }
}

/** A version as the protocol carries it: '' (the server's choice) or a positive integer. */
export function checkVersion(name: string, version: string): void {
  if (version !== '' && !/^[0-9]+$/.test(version)) throw versionNotInteger(name, version);
}
