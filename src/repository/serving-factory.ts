// What the repository hands a loaded version to: a factory (core/serving-version.ts, given
// by the composition root) that turns a started runner into a serving version. The
// repository finds, parses and loads; it never runs requests itself.

import type { ModelConfig } from '../generated/inference/model_config.js';
import type { PadBatches } from '../batching/buckets.js';
import type { BatchingPolicy } from '../batching/policy.js';
import type { ModelRunner } from '../execution/model-runner.js';
import type { ModelStats, StatsObserver } from '../metrics/model-stats.js';
import type { ServingVersion } from '../model/registry.js';
import type { ReplicaPolicyName } from '../scheduling/policies.js';
import type { BreakerOptions, ReplicaInfo } from '../scheduling/replica-set.js';

export interface ServingOptions {
  policy: BatchingPolicy;
  replicaPolicy: ReplicaPolicyName;
  replicas: ReplicaInfo[];
  breaker: BreakerOptions;
  /** Honour the test-only `test_fault` request parameter. */
  testFaults: boolean;
  /** Distribution hooks (metrics); none when metrics are off. */
  observer?: StatsObserver | undefined;
  /** The statistics of the version this one replaces (a reload): counts carry on. */
  stats?: ModelStats | undefined;
  /** Pad batches to power-of-two sizes (see batching/buckets.ts); `auto`: when a replica is on a GPU. */
  padBatches?: PadBatches | undefined;
}

export type ServingFactory = (version: number, runner: ModelRunner, config: ModelConfig, opts: ServingOptions) => ServingVersion;
