// Loads and unloads models from a repository folder into the registry: parse
// config.pbtxt, pick versions by policy, start replicas, auto-complete and check the
// config against the ONNX model, then swap the new versions in. A model that fails is
// left UNAVAILABLE with its reason; the others are untouched.

import type { ModelKeyRing } from '../security/model-keys.js';
import { rmSync } from 'node:fs';
import type { ModelConfig } from '../generated/inference/model_config.js';
import { Code, ServeError, modelNotFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { ModelEntry, ModelRegistry } from '../model/registry.js';
import { ConfigError } from './config-file.js';
import type { CompleteOptions } from './complete-config.js';
import { listModels, modelFingerprint, readModelSource } from './scan.js';
import { checkOverrideFiles, configFromJson, refusePlaintextUpload, stageFiles, type LoadOverride } from './load-override.js';
import { checkModelName } from '../model/model-name.js';
import type { ServingFactory } from './serving-factory.js';
import { reasonOf, startVersions } from './version-loader.js';
import type { Clock } from '../clock.js';
import type { StatsObserver } from '../metrics/model-stats.js';
import { selectVersions } from './version-policy.js';
import type { ConfigLimits } from './validate-config.js';
import { planLoad, policyFor, type LoadPlan } from './load-plan.js';
import { failModel, swapIn } from './version-swap.js';

export interface RepositoryOptions extends CompleteOptions {
  root: string;
  /** Turns a loaded version into one that serves requests (core/serving-version.ts). */
  makeServing: ServingFactory;
  /** Honour the test-only `test_fault` request parameter (TRITON_TS_TEST_FAULTS=1). */
  testFaults: boolean;
  /** Makes the distribution hooks of a version's statistics; absent when metrics are off. */
  observerFor?: ((model: string, version: number) => StatsObserver) | undefined;
  /** Bounds on config values (instances, warmup, timeouts); DEFAULT_CONFIG_LIMITS when absent. */
  configLimits?: ConfigLimits | undefined;
  /** --max-queue-wait: the queue wait past which arrivals are refused (0 = never); models may override. */
  maxQueueWaitMs?: number | undefined;
  /** Told of each load and unload that polling made (the audit trail records them). */
  onPollChange?: ((kind: 'load' | 'unload', model: string, error: unknown) => void) | undefined;
  /** Keys for models stored encrypted at rest (--model-key-file, --model-key-env). */
  modelKeys?: ModelKeyRing | undefined;
  /** Serve only models stored encrypted; plaintext uploads are refused before they are staged. */
  requireEncryptedModels?: boolean | undefined;
}

export class ModelRepository {
  /** Serialises loads and unloads of the same model. */
  private readonly pending = new Map<string, Promise<void>>();
  /** What each model's folder held at its last load attempt (poll mode compares). */
  private readonly fingerprints = new Map<string, string>();

  constructor(
    private readonly opts: RepositoryOptions,
    private readonly registry: ModelRegistry,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  /** Names of the model folders in the repository. */
  modelNames(): string[] {
    return listModels(this.opts.root);
  }

  async loadAll(names: string[] = this.modelNames()): Promise<void> {
    await Promise.all(names.map((n) => this.load(n).catch(() => undefined)));
  }

  /**
   * Loads, or reloads, one model. Rejects with the reason when no version became ready.
   * `override` replaces config.pbtxt (and may add files) for this load, as Triton's
   * RepositoryModelLoad parameters do.
   */
  load(name: string, override?: LoadOverride): Promise<void> {
    // The whole request is checked before the registry or any file is touched.
    let overrideConfig: ModelConfig | undefined;
    try {
      checkModelName(name);
      if (override) {
        checkOverrideFiles(name, override);
        if (override.configJson !== undefined) overrideConfig = configFromJson(override.configJson, name);
        if (overrideConfig && overrideConfig.name !== '' && overrideConfig.name !== name) {
          throw new ConfigError(`the "config" parameter names model '${overrideConfig.name}' but the request loads '${name}'`);
        }
        if (this.opts.requireEncryptedModels) refusePlaintextUpload(name, override, overrideConfig);
      }
    } catch (err) {
      return Promise.reject(err instanceof ConfigError ? new ServeError(Code.INVALID_ARGUMENT, err.message) : err);
    }
    return this.serialise(name, () => this.doLoad(name, override, overrideConfig));
  }

  /**
   * Poll mode: loads models that appeared, reloads models whose folder changed (their old
   * versions drain while the new ones serve), unloads models whose folder is gone.
   */
  async poll(): Promise<void> {
    const names = this.modelNames();
    const work: Array<Promise<void>> = [];
    for (const name of names) {
      const fp = modelFingerprint(this.opts.root, name);
      if (fp !== undefined && fp !== this.fingerprints.get(name)) {
        this.log.info(`poll: model '${name}' ${this.fingerprints.has(name) ? 'changed' : 'appeared'}`, { model: name });
        work.push(
          this.load(name).then(
            () => this.opts.onPollChange?.('load', name, undefined),
            (err: unknown) => this.opts.onPollChange?.('load', name, err),
          ),
        );
      }
    }
    for (const entry of this.registry.all()) {
      if (!names.includes(entry.name) && [...entry.versions.values()].some((v) => v.serving)) {
        this.log.info(`poll: model '${entry.name}' is gone from the repository`, { model: entry.name });
        this.fingerprints.delete(entry.name);
        // Gone from the folder: once drained, the model leaves the registry (and health) too.
        work.push(
          this.unload(entry.name).then(
            () => {
              this.opts.onPollChange?.('unload', entry.name, undefined);
              this.registry.forget(entry.name);
            },
            (err: unknown) => this.opts.onPollChange?.('unload', entry.name, err),
          ),
        );
      }
    }
    await Promise.all(work);
  }

  unload(name: string): Promise<void> {
    return this.serialise(name, () => this.doUnload(name));
  }

  /** Unloads everything, letting in-flight requests finish. */
  async unloadAll(): Promise<void> {
    await Promise.all(this.registry.all().map((m) => this.unload(m.name)));
  }

  private serialise(name: string, work: () => Promise<void>): Promise<void> {
    const prev = this.pending.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(work);
    this.pending.set(name, next);
    return next.finally(() => {
      if (this.pending.get(name) === next) this.pending.delete(name);
    });
  }

  private async doLoad(name: string, override: LoadOverride | undefined, overrideConfig: ModelConfig | undefined): Promise<void> {
    const inRepository = readModelSource(this.opts.root, name) !== undefined;
    const staged = override?.files && Object.keys(override.files).length > 0 ? stageFiles(name, override) : undefined;
    if (!inRepository && !staged) {
      throw modelNotFound(name);
    }
    const fingerprint = modelFingerprint(this.opts.root, name);
    if (fingerprint !== undefined) this.fingerprints.set(name, fingerprint);
    const entry = this.registry.ensure(name);
    try {
      await this.loadFrom(entry, name, staged ?? this.opts.root, overrideConfig);
    } catch (err) {
      // A model that exists only in the failed request leaves nothing behind.
      if (!inRepository && ![...entry.versions.values()].some((v) => v.serving)) this.registry.forget(name);
      throw err;
    } finally {
      if (staged) rmSync(staged, { recursive: true, force: true });
    }
  }

  private async loadFrom(entry: ModelEntry, name: string, root: string, overrideConfig: ModelConfig | undefined): Promise<void> {
    const source = readModelSource(root, name);
    if (!source) {
      if (entry.versions.size === 0) entry.state = undefined;
      this.registry.forgetIfEmpty(name);
      throw modelNotFound(name);
    }
    const wasServing = [...entry.versions.values()].some((v) => v.state === 'READY');
    if (!wasServing) {
      entry.state = 'LOADING';
      entry.reason = '';
    }
    this.log.info(`loading model '${name}'`, { model: name });

    let plan: LoadPlan;
    try {
      plan = planLoad(name, source.configText, overrideConfig, this.opts);
    } catch (err) {
      return failModel(this.registry, this.log, name, wasServing, reasonOf(err));
    }
    const { config, settings } = plan;
    let policy = plan.policy;

    const selection = selectVersions(config.versionPolicy, source.versions);
    if (selection.load.length === 0) {
      return failModel(
        this.registry,
        this.log,
        name,
        wasServing,
        `no version folder with a model to serve in model '${name}' (version_policy picks none of [${source.versions.join(', ')}])`,
      );
    }
    const fileName = config.defaultModelFilename || 'model.onnx';
    this.log.verbose(`model '${name}': versions ${selection.load.join(', ')}, ${settings.replicas.length} replica(s)`, {
      replicas: settings.replicas.map((r) => r.name),
      session: settings.session,
      replicaPolicy: settings.replicaPolicy,
    });

    const { loaded, completed } = await startVersions({
      name,
      dir: source.dir,
      selection,
      fileName,
      settings,
      config,
      complete: this.opts,
      clock: this.clock,
      log: this.log,
      modelKeys: this.opts.modelKeys,
      requireEncrypted: this.opts.requireEncryptedModels,
    });
    if (!completed || loaded.every((l) => !l.runner)) {
      const why = loaded.map((l) => (loaded.length > 1 ? `version ${l.version}: ${l.error}` : l.error)).join('; ');
      for (const l of loaded) await l.runner?.close();
      return failModel(this.registry, this.log, name, wasServing, why, loaded);
    }
    if (config.maxBatchSize === 0 && completed.maxBatchSize > 0) {
      // Auto-complete found a batch dimension: the policy follows the completed max_batch_size.
      policy = policyFor(name, completed, this.opts.maxQueueWaitMs ?? 0);
    }

    await swapIn(entry, name, loaded, completed, {
      makeServing: this.opts.makeServing,
      serving: { policy, replicaPolicy: settings.replicaPolicy, replicas: settings.replicaInfos, breaker: settings.breaker, padBatches: settings.padBatches },
      testFaults: this.opts.testFaults,
      observerFor: this.opts.observerFor,
      log: this.log,
    });
  }

  private async doUnload(name: string): Promise<void> {
    const entry = this.registry.entry(name);
    if (!entry) throw new ServeError(Code.NOT_FOUND, `model '${name}' is not loaded`);
    const closing: Array<Promise<void>> = [];
    for (const v of entry.versions.values()) {
      if (v.serving) {
        v.state = 'UNLOADING';
        const s = v.serving;
        closing.push(
          s.close().finally(() => {
            v.serving = undefined;
            v.state = 'UNAVAILABLE';
            v.reason = 'unloaded';
          }),
        );
      }
    }
    this.log.info(`unloading model '${name}'`, { model: name });
    await Promise.all(closing);
    entry.state = 'UNAVAILABLE';
    entry.reason = 'unloaded';
    this.log.info(`successfully unloaded '${name}'`, { model: name });
  }
}
