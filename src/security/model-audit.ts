// What the audit trail records about a model after a load or unload: each version's state
// and the SHA-256 of the config in force (its canonical JSON form), so an auditor can tell
// which configuration served when.

import { createHash } from 'node:crypto';
import { ModelConfig } from '../generated/inference/model_config.js';
import type { ModelEntry } from '../model/registry.js';

export interface ModelAuditFields {
  versions: Array<{ version: number; state: string; reason?: string }>;
  config_sha256?: string;
}

export function modelAuditFields(entry: ModelEntry | undefined): ModelAuditFields {
  if (!entry) return { versions: [] };
  const versions = [...entry.versions.values()]
    .sort((a, b) => a.version - b.version)
    .map((v) => ({ version: v.version, state: v.state, ...(v.reason ? { reason: v.reason } : {}) }));
  if (!entry.config) return { versions };
  const json = JSON.stringify(ModelConfig.toJSON(entry.config));
  return { versions, config_sha256: createHash('sha256').update(json).digest('hex') };
}
