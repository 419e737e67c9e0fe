// Which of the version folders a model serves, per its version_policy.

import type { ModelVersionPolicy } from '../generated/inference/model_config.js';

export interface VersionSelection {
  /** Versions to load, ascending. */
  load: number[];
  /** Versions the policy names that have no folder (specific policy only). */
  missing: number[];
}

/** `available` are the numeric version folders found on disk. No policy means latest 1. */
export function selectVersions(policy: ModelVersionPolicy | undefined, available: readonly number[]): VersionSelection {
  const sorted = [...new Set(available)].sort((a, b) => a - b);
  const choice = policy?.policyChoice;
  if (!choice) return { load: sorted.slice(-1), missing: [] };
  switch (choice.$case) {
    case 'latest': {
      const n = choice.value.numVersions;
      return { load: n > 0 ? sorted.slice(-n) : [], missing: [] };
    }
    case 'all':
      return { load: sorted, missing: [] };
    case 'specific': {
      const want = [...new Set(choice.value.versions)].sort((a, b) => a - b);
      return { load: want.filter((v) => sorted.includes(v)), missing: want.filter((v) => !sorted.includes(v)) };
    }
  }
}

/** A problem with the policy itself, or '' when it is valid. */
export function checkVersionPolicy(policy: ModelVersionPolicy | undefined): string {
  const choice = policy?.policyChoice;
  if (choice?.$case === 'latest' && choice.value.numVersions < 1) {
    return 'version_policy.latest.num_versions must be at least 1';
  }
  if (choice?.$case === 'specific') {
    if (choice.value.versions.length === 0) return 'version_policy.specific.versions must name at least one version';
    const bad = choice.value.versions.find((v) => v < 1);
    if (bad !== undefined) return `version_policy.specific.versions: ${bad} is not a positive version number`;
  }
  return '';
}
