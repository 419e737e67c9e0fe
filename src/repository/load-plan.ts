// What a load starts from: the config in force (the request's override, config.pbtxt, or
// an empty one for auto-complete), checked and bounded, and the instance settings and
// batching policy it implies. Throws ConfigError (or ServeError) with the reason.

import { ModelConfig } from '../generated/inference/model_config.js';
import { batchingPolicy, type BatchingPolicy } from '../batching/policy.js';
import { ConfigError, parseModelConfig } from './config-file.js';
import { preCheck } from './complete-config.js';
import { instanceSettings, type InstanceSettings } from './instance-settings.js';
import { DEFAULT_CONFIG_LIMITS, validateConfig, type ConfigLimits } from './validate-config.js';
import { latencyTargetUs, maxQueueWaitMs } from './version-loader.js';

export interface LoadPlan {
  config: ModelConfig;
  settings: InstanceSettings;
  policy: BatchingPolicy;
}

export function planLoad(
  name: string,
  configText: string | undefined,
  overrideConfig: ModelConfig | undefined,
  opts: { autoComplete: boolean; configLimits?: ConfigLimits | undefined; maxQueueWaitMs?: number | undefined },
): LoadPlan {
  const parsed = overrideConfig ?? (configText !== undefined ? parseModelConfig(configText, `${name}/config.pbtxt`) : ModelConfig.fromPartial({}));
  if (configText === undefined && !overrideConfig && !opts.autoComplete) {
    throw new ConfigError(`${name}/config.pbtxt is missing and auto-complete is disabled (--disable-auto-complete-config)`);
  }
  const config = preCheck(parsed, name);
  validateConfig(config, name, opts.configLimits ?? DEFAULT_CONFIG_LIMITS);
  const settings = instanceSettings(config);
  return { config, settings, policy: policyFor(name, config, opts.maxQueueWaitMs ?? 0) };
}

/**
 * The batching policy a config asks for (its dynamic_batching, latency target and queue wait
 * limit); `defaultMaxQueueWaitMs` is the server's --max-queue-wait.
 */
export function policyFor(name: string, config: ModelConfig, defaultMaxQueueWaitMs: number): BatchingPolicy {
  const sc = config.schedulingChoice;
  return batchingPolicy(name, config.maxBatchSize, sc?.$case === 'dynamicBatching' ? sc.value : undefined, {
    latencyTargetUs: latencyTargetUs(config),
    maxQueueWaitMs: maxQueueWaitMs(config, defaultMaxQueueWaitMs),
  });
}
