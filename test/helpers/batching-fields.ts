// The dynamic_batching and queue policy blocks as the generated config type carries them,
// with Triton's defaults, for batcher unit tests.

import type { DynamicBatchingFields, QueuePolicyFields } from '../../src/batching/policy.js';

export function fields(patch: Partial<DynamicBatchingFields> = {}): DynamicBatchingFields {
  return {
    preferredBatchSize: [],
    maxQueueDelayMicroseconds: 0,
    preserveOrdering: false,
    priorityLevels: 0,
    defaultPriorityLevel: 0,
    defaultQueuePolicy: undefined,
    priorityQueuePolicy: {},
    ...patch,
  };
}

export function qp(patch: Partial<QueuePolicyFields> = {}): QueuePolicyFields {
  return { timeoutAction: 0, defaultTimeoutMicroseconds: 0, allowTimeoutOverride: false, maxQueueSize: 0, ...patch };
}
