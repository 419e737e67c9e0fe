// Batching settings of one model version, from Triton's config fields, checked as Triton
// checks them. Messages name the model and the field.

import { invalid, type ServeError } from '../errors.js';

export type TimeoutAction = 'REJECT' | 'DELAY';

export interface QueuePolicy {
  timeoutAction: TimeoutAction;
  /** 0: no timeout. */
  defaultTimeoutUs: number;
  allowTimeoutOverride: boolean;
  /** 0: unbounded. Counts requests, not rows. */
  maxQueueSize: number;
}

export interface BatchingPolicy {
  /** Whether requests are combined at all (dynamic_batching present and max_batch_size > 0). */
  dynamic: boolean;
  /** Rows per batch (and per request); 1 for a model with max_batch_size 0. */
  maxBatchSize: number;
  /** Ascending, each in 1..maxBatchSize. */
  preferredBatchSizes: number[];
  maxQueueDelayUs: number;
  preserveOrdering: boolean;
  /** 0: one level. Level 1 is served first. */
  priorityLevels: number;
  defaultPriorityLevel: number;
  /** Index = level (1-based); entry 0 is unused. Levels without their own policy get the default. */
  queuePolicies: QueuePolicy[];
  /** Latency-target batching (model parameter latency_target_us); 0: off, max_queue_delay rules. */
  latencyTargetUs: number;
  /**
   * Overload shedding (--max-queue-wait, model parameter max_queue_wait_us): a request whose
   * expected queue wait passes this is refused at arrival (DynamicBatcher.overload); 0: off.
   */
  maxQueueWaitMs: number;
}

/** Settings of a policy that come from outside dynamic_batching. */
export interface PolicyExtras {
  latencyTargetUs?: number | undefined;
  maxQueueWaitMs?: number | undefined;
}

/** The dynamic_batching block as the generated config type carries it (structurally). */
export interface DynamicBatchingFields {
  preferredBatchSize: number[];
  maxQueueDelayMicroseconds: number;
  preserveOrdering: boolean;
  priorityLevels: number;
  defaultPriorityLevel: number;
  defaultQueuePolicy: QueuePolicyFields | undefined;
  priorityQueuePolicy: { [level: number]: QueuePolicyFields };
}

export interface QueuePolicyFields {
  /** 0 REJECT, 1 DELAY (inference.ModelQueuePolicy.TimeoutAction). */
  timeoutAction: number;
  defaultTimeoutMicroseconds: number;
  allowTimeoutOverride: boolean;
  maxQueueSize: number;
}

const unboundedPolicy: QueuePolicy = { timeoutAction: 'REJECT', defaultTimeoutUs: 0, allowTimeoutOverride: false, maxQueueSize: 0 };

function queuePolicy(f: QueuePolicyFields | undefined): QueuePolicy {
  if (!f) return unboundedPolicy;
  return {
    timeoutAction: f.timeoutAction === 1 ? 'DELAY' : 'REJECT',
    defaultTimeoutUs: f.defaultTimeoutMicroseconds,
    allowTimeoutOverride: f.allowTimeoutOverride,
    maxQueueSize: f.maxQueueSize,
  };
}

/**
 * One request per batch, FIFO, no delay: models without dynamic_batching. A request may
 * still carry up to max_batch_size rows of its own.
 */
export function unbatchedPolicy(maxBatchSize: number, maxQueueWaitMs = 0): BatchingPolicy {
  return {
    dynamic: false,
    maxBatchSize: Math.max(1, maxBatchSize),
    preferredBatchSizes: [],
    maxQueueDelayUs: 0,
    preserveOrdering: false,
    priorityLevels: 0,
    defaultPriorityLevel: 0,
    queuePolicies: [unboundedPolicy, unboundedPolicy],
    latencyTargetUs: 0,
    maxQueueWaitMs,
  };
}

/**
 * Builds and checks the policy. `db` undefined means the config has no dynamic_batching.
 * Throws INVALID_ARGUMENT naming the field; the loader turns that into UNAVAILABLE.
 */
export function batchingPolicy(model: string, maxBatchSize: number, db: DynamicBatchingFields | undefined, extras: PolicyExtras = {}): BatchingPolicy {
  const latencyTargetUs = extras.latencyTargetUs ?? 0;
  const maxQueueWaitMs = extras.maxQueueWaitMs ?? 0;
  if (!(maxQueueWaitMs >= 0) || !Number.isFinite(maxQueueWaitMs)) {
    throw invalid(`model '${model}': the queue wait limit must be a non-negative number of milliseconds`);
  }
  if (latencyTargetUs < 0 || !Number.isSafeInteger(latencyTargetUs)) {
    throw invalid(`model '${model}': parameters["latency_target_us"] must be a positive integer of microseconds`);
  }
  if (latencyTargetUs > 0 && (!db || maxBatchSize === 0)) {
    throw invalid(`model '${model}': parameters["latency_target_us"] needs dynamic_batching and max_batch_size > 0`);
  }
  if (!db) return unbatchedPolicy(maxBatchSize, maxQueueWaitMs);
  const bad = (msg: string): ServeError => invalid(`model '${model}': dynamic_batching.${msg}`);
  for (const p of db.preferredBatchSize) {
    if (p < 1) throw bad(`preferred_batch_size ${p} must be at least 1`);
    if (maxBatchSize > 0 && p > maxBatchSize) throw bad(`preferred_batch_size ${p} exceeds max_batch_size ${maxBatchSize}`);
  }
  if (maxBatchSize === 0 && db.preferredBatchSize.length > 0) {
    throw bad('preferred_batch_size is set, but max_batch_size is 0 so the model does not batch');
  }
  if (!Number.isSafeInteger(db.maxQueueDelayMicroseconds)) throw bad('max_queue_delay_microseconds is too large');
  const levels = db.priorityLevels;
  if (levels > 1_000_000) throw bad(`priority_levels ${levels} is too large`);
  if (levels === 0) {
    if (db.defaultPriorityLevel !== 0) throw bad(`default_priority_level ${db.defaultPriorityLevel} is set, but priority_levels is 0`);
    const keys = Object.keys(db.priorityQueuePolicy);
    if (keys.length > 0) throw bad(`priority_queue_policy is set for level ${keys[0]}, but priority_levels is 0`);
  } else {
    if (db.defaultPriorityLevel < 1 || db.defaultPriorityLevel > levels) {
      throw bad(`default_priority_level ${db.defaultPriorityLevel} must be in 1..${levels} (priority_levels)`);
    }
    for (const key of Object.keys(db.priorityQueuePolicy)) {
      const level = Number(key);
      if (level < 1 || level > levels) throw bad(`priority_queue_policy key ${key} must be in 1..${levels} (priority_levels)`);
    }
  }
  const all = [db.defaultQueuePolicy, ...Object.values(db.priorityQueuePolicy)];
  for (const q of all) {
    if (q && !Number.isSafeInteger(q.defaultTimeoutMicroseconds)) throw bad('default_timeout_microseconds is too large');
  }
  const defaultPolicy = queuePolicy(db.defaultQueuePolicy);
  const n = Math.max(1, levels);
  const queuePolicies = [defaultPolicy];
  for (let level = 1; level <= n; level++) {
    const own = db.priorityQueuePolicy[level];
    queuePolicies.push(own ? queuePolicy(own) : defaultPolicy);
  }
  const batches = maxBatchSize > 0;
  return {
    dynamic: batches,
    maxBatchSize: batches ? maxBatchSize : 1,
    preferredBatchSizes: [...new Set(db.preferredBatchSize)].sort((a, b) => a - b),
    maxQueueDelayUs: db.maxQueueDelayMicroseconds,
    preserveOrdering: db.preserveOrdering,
    priorityLevels: levels,
    defaultPriorityLevel: levels === 0 ? 0 : db.defaultPriorityLevel,
    queuePolicies,
    latencyTargetUs,
    maxQueueWaitMs,
  };
}
