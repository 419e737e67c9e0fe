// From a model's config to how its replicas run: instance groups → replicas on devices,
// ORT session options, the replica policy and circuit-breaker settings. Model
// parameters use the ONNX Runtime backend's names where it has them.

import { usableCores } from '../cores.js';
import { ModelInstanceGroup_Kind, type ModelConfig } from '../generated/inference/model_config.js';
import type { ReplicaSpec } from '../execution/model-runner.js';
import type { PadBatches } from '../batching/buckets.js';
import type { SessionOptionsSpec } from '../execution/protocol.js';
import { replicaPolicyNames, type ReplicaPolicyName } from '../scheduling/policies.js';
import { defaultBreakerOptions, type BreakerOptions, type ReplicaInfo } from '../scheduling/replica-set.js';
import { ConfigError } from './config-file.js';

export interface InstanceSettings {
  replicas: ReplicaSpec[];
  replicaInfos: ReplicaInfo[];
  session: Omit<SessionOptionsSpec, 'executionProviders'>;
  replicaPolicy: ReplicaPolicyName;
  breaker: BreakerOptions;
  workerMaxOldGenerationMb: number;
  padBatches: PadBatches;
}

export function instanceSettings(config: ModelConfig, cores = usableCores()): InstanceSettings {
  const replicas: ReplicaSpec[] = [];
  const replicaInfos: ReplicaInfo[] = [];
  for (const g of config.instanceGroup) {
    const kind = g.kind === ModelInstanceGroup_Kind.KIND_GPU ? 'gpu' : g.kind === ModelInstanceGroup_Kind.KIND_AUTO ? 'auto' : 'cpu';
    // Triton: `count` instances per listed GPU; no list means GPU 0 here (device discovery comes with CUDA).
    const devices = kind === 'cpu' ? [-1] : g.gpus.length > 0 ? g.gpus : [0];
    let k = 0;
    for (const d of devices) {
      for (let i = 0; i < g.count; i++) {
        // <group name>_<instance number within the group>, as Triton names instances.
        const name = `${g.name}_${k++}`;
        replicas.push({ name, kind, deviceId: d });
        replicaInfos.push({ name, priority: g.rateLimiter?.priority ?? 1, capacity: 1 });
      }
    }
  }
  const param = (key: string): string | undefined => {
    const v = config.parameters[key]?.stringValue;
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (key: string, dflt: number, min = 0): number => {
    const v = param(key);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new ConfigError(`parameters["${key}"] must be an integer of at least ${min}, got '${v}'`);
    return n;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = param(key);
    if (v === undefined) return dflt;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new ConfigError(`parameters["${key}"] must be true or false, got '${v}'`);
  };
  const policy = param('replica_policy') ?? 'round_robin';
  if (!replicaPolicyNames.includes(policy as ReplicaPolicyName)) {
    throw new ConfigError(`parameters["replica_policy"] must be one of ${replicaPolicyNames.join(', ')}, got '${policy}'`);
  }
  const level = config.optimization?.graph?.level ?? 0;
  // So that N CPU replicas do not oversubscribe the cores, each gets its share by default,
  // after one core is left to the main thread (gRPC, decoding, batching): measured on 2
  // cores, 1 replica x 1 thread serves ocr_cls at c64 ~1.2x better than 1 x 2 threads.
  const cpuReplicas = Math.max(1, replicas.filter((r) => r.kind !== 'gpu').length);
  const threshold = int('breaker_error_threshold_percentage', defaultBreakerOptions.errorThresholdPercentage, 1);
  if (threshold > 100) throw new ConfigError(`parameters["breaker_error_threshold_percentage"] must be at most 100, got ${threshold}`);
  return {
    replicas,
    replicaInfos,
    session: {
      intraOpNumThreads: int('intra_op_thread_count', Math.max(1, Math.floor((cores - 1) / cpuReplicas))),
      interOpNumThreads: int('inter_op_thread_count', 1),
      graphOptimizationLevel: level === -1 ? 'disabled' : level === 1 ? 'extended' : 'all',
      // Off by default: ORT's pool threads spin-wait after every parallel section, taking CPU
      // from the gRPC event loop and the worker threads that share the cores with them.
      allowSpinning: bool('allow_spinning', false),
    },
    replicaPolicy: policy as ReplicaPolicyName,
    breaker: {
      timeoutMs: int('breaker_timeout_ms', defaultBreakerOptions.timeoutMs),
      errorThresholdPercentage: threshold,
      volumeThreshold: int('breaker_volume_threshold', defaultBreakerOptions.volumeThreshold),
      resetTimeoutMs: int('breaker_reset_timeout_ms', defaultBreakerOptions.resetTimeoutMs, 1),
      rollingWindowMs: int('breaker_window_ms', defaultBreakerOptions.rollingWindowMs, 100),
    },
    workerMaxOldGenerationMb: int('worker_max_old_generation_mb', 0),
    padBatches: padBatches(param('pad_batches')),
  };
}

function padBatches(v: string | undefined): PadBatches {
  if (v === undefined || v === 'auto') return 'auto';
  if (v === 'true' || v === '1') return 'on';
  if (v === 'false' || v === '0') return 'off';
  throw new ConfigError(`parameters["pad_batches"] must be auto, true or false, got '${v}'`);
}
