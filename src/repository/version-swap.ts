// The end of a load: the versions that started replace the model's old ones in the
// registry in one step (the old ones close after, their in-flight requests finishing
// first), or the load is recorded as failed with its reason.

import type { ModelConfig } from '../generated/inference/model_config.js';
import { unavailable } from '../errors.js';
import type { Logger } from '../log.js';
import type { StatsObserver } from '../metrics/model-stats.js';
import type { ModelEntry, ModelRegistry, VersionEntry } from '../model/registry.js';
import type { ServingFactory, ServingOptions } from './serving-factory.js';
import type { LoadedVersion } from './version-loader.js';

export interface SwapOptions {
  makeServing: ServingFactory;
  /** Batching, replica, breaker and padding settings shared by every version of the model. */
  serving: Omit<ServingOptions, 'testFaults' | 'observer' | 'stats'>;
  testFaults: boolean;
  observerFor?: ((model: string, version: number) => StatsObserver) | undefined;
  log: Logger;
}

/** Swaps the loaded versions in (statistics carry over a reload), then closes the old ones. */
export async function swapIn(entry: ModelEntry, name: string, loaded: LoadedVersion[], completed: ModelConfig, o: SwapOptions): Promise<void> {
  const old = [...entry.versions.values()];
  const versions = new Map<number, VersionEntry>();
  for (const l of loaded.sort((a, b) => a.version - b.version)) {
    const previous = entry.versions.get(l.version);
    if (l.runner) {
      const serving = o.makeServing(l.version, l.runner, completed, {
        ...o.serving,
        testFaults: o.testFaults,
        observer: o.observerFor?.(name, l.version),
        stats: previous?.stats,
      });
      versions.set(l.version, { version: l.version, state: 'READY', reason: '', serving, stats: serving.stats });
    } else {
      versions.set(l.version, { version: l.version, state: 'UNAVAILABLE', reason: l.error, serving: undefined, stats: previous?.stats });
    }
  }
  for (const v of old) {
    if (!versions.has(v.version)) versions.set(v.version, { ...v, state: 'UNAVAILABLE', reason: 'unloaded', serving: undefined });
  }
  entry.config = completed;
  entry.versions = versions;
  entry.state = undefined;
  entry.reason = '';
  await Promise.all(old.map((v) => v.serving?.close()));
  for (const v of versions.values()) {
    if (v.state === 'READY') o.log.info(`successfully loaded '${name}' version ${v.version}`, { model: name, version: v.version });
    else if (v.reason === 'unloaded') o.log.info(`unloaded '${name}' version ${v.version} (no longer selected)`, { model: name, version: v.version });
    else o.log.error(`failed to load '${name}' version ${v.version}: ${v.reason}`, { model: name, version: v.version });
  }
}

/**
 * Records a failed load and throws UNAVAILABLE with the reason. A model that was serving
 * keeps serving its old versions (a failed reload changes nothing); otherwise the model,
 * and each version tried, is UNAVAILABLE with its reason.
 */
export function failModel(registry: ModelRegistry, log: Logger, name: string, wasServing: boolean, reason: string, tried: LoadedVersion[] = []): never {
  const entry = registry.ensure(name);
  log.error(`failed to load '${name}': ${reason}`, { model: name });
  if (wasServing) {
    for (const v of entry.versions.values()) {
      if (v.state === 'READY') v.reason = `serving the previously loaded model; reload failed: ${reason}`;
    }
  } else {
    entry.state = 'UNAVAILABLE';
    entry.reason = reason;
    for (const v of entry.versions.values()) {
      v.state = 'UNAVAILABLE';
      v.reason = reason;
    }
    for (const t of tried) {
      const previous = entry.versions.get(t.version);
      entry.versions.set(t.version, { version: t.version, state: 'UNAVAILABLE', reason: t.error || reason, serving: undefined, stats: previous?.stats });
    }
  }
  throw unavailable(`failed to load '${name}': ${reason}`);
}
