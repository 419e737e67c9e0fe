// What this process does when the cluster (cluster/link.ts) runs an operation everywhere:
// a model load or unload, a shared memory region's registration, its statistics.

import type { ModelStatistics } from '../generated/inference/grpc_service.js';
import { modelNotFound, notFound } from '../errors.js';
import type { LocalOps } from '../cluster/link.js';
import { checkModelName } from '../model/model-name.js';
import { checkVersion, type ModelEntry } from '../model/registry.js';
import type { ServiceContext } from './context.js';
import { loadOverride } from './model-control.js';
import { statsMessage } from './statistics.js';

export function localOps(ctx: ServiceContext): LocalOps {
  const changed = <T>(work: Promise<T>): Promise<T> => work.finally(() => ctx.modelsChanged());
  return {
    load: ({ name, parameters }) => changed(ctx.repository.load(name, loadOverride(parameters))).then(() => null),
    unload: ({ name }) => changed(ctx.repository.unload(name)).then(() => null),
    shmRegister: async ({ name, key, offset, byteSize, identity }) => ctx.sharedMemory.register(name, key, offset, byteSize, identity),
    shmUnregister: async ({ name }) => {
      ctx.sharedMemory.unregister(name);
      return null;
    },
    stats: async ({ name, version }) => localStatistics(ctx, name, version),
  };
}

/** This process's statistics of one model (and version), or of every model for name ''. */
export function localStatistics(ctx: ServiceContext, name: string, version: string): ModelStatistics[] {
  const { registry } = ctx;
  let models: ModelEntry[];
  if (name === '') {
    models = registry.all();
  } else {
    checkModelName(name);
    const e = registry.known(name);
    if (!e) throw modelNotFound(name);
    models = [e];
  }
  checkVersion(name, version);
  const out: ModelStatistics[] = [];
  for (const m of models) {
    for (const v of [...m.versions.values()].sort((a, b) => a.version - b.version)) {
      if (!v.stats || (version !== '' && String(v.version) !== version)) continue;
      out.push(statsMessage(m.name, v.version, v.stats));
    }
  }
  if (name !== '' && version !== '' && out.length === 0) throw notFound(`model '${name}' has no version ${version} with statistics`);
  return out;
}
