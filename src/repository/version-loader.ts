// Starting the selected versions of a model: one ModelRunner each (highest version first,
// since auto-complete reads its ONNX model), then the config completed from the model and
// checked against every version, then model_warmup. A version that fails carries its reason.
// A model file stored encrypted (<file>.enc, or a default_model_filename ending in .enc) is
// decrypted into memory here and handed to the replicas as bytes.

import { existsSync } from 'node:fs';
import { LIMITS } from '../limits.js';
import type { Clock } from '../clock.js';
import { ModelConfig } from '../generated/inference/model_config.js';
import { ModelRunner } from '../execution/model-runner.js';
import type { Logger } from '../log.js';
import { ConfigError } from './config-file.js';
import { completeConfig, type CompleteOptions } from './complete-config.js';
import type { InstanceSettings } from './instance-settings.js';
import type { VersionSelection } from './version-policy.js';
import { checkWarmup, runWarmup } from './warmup.js';
import { resolveInside } from './safe-path.js';
import { decryptModelFile, ENCRYPTED_SUFFIX } from '../security/model-encryption.js';
import type { ModelKeyRing } from '../security/model-keys.js';

export interface LoadedVersion {
  version: number;
  runner: ModelRunner | undefined;
  error: string;
}

export interface StartArgs {
  name: string;
  dir: string;
  selection: VersionSelection;
  fileName: string;
  settings: InstanceSettings;
  config: ModelConfig;
  complete: CompleteOptions;
  clock: Pick<Clock, 'now'>;
  log: Logger;
  /** Keys for models stored encrypted; undefined when the server was given none. */
  modelKeys?: ModelKeyRing | undefined;
  /** Serve only models stored encrypted (--require-encrypted-models). */
  requireEncrypted?: boolean | undefined;
}

/** Where a version's model is: the file, and whether it is the encrypted form. */
function modelFileOf(dir: string, version: number, fileName: string, requireEncrypted: boolean): { path: string; shown: string; encrypted: boolean } {
  const shown = `${version}/${fileName}`;
  const path = resolveInside(dir, shown, 'default_model_filename');
  if (fileName.endsWith(ENCRYPTED_SUFFIX)) {
    if (!existsSync(path)) throw new ConfigError(`${shown} does not exist`);
    return { path, shown, encrypted: true };
  }
  const encShown = `${shown}${ENCRYPTED_SUFFIX}`;
  const encPath = resolveInside(dir, encShown, 'default_model_filename');
  const plain = existsSync(path);
  const enc = existsSync(encPath);
  if (plain && enc) throw new ConfigError(`both ${shown} and ${encShown} exist; keep one, so which is served is never a guess`);
  if (enc) return { path: encPath, shown: encShown, encrypted: true };
  if (!plain) throw new ConfigError(`neither ${shown} nor ${encShown} exists`);
  if (requireEncrypted)
    throw new ConfigError(
      `${shown} is not encrypted, and this server serves only encrypted models (--require-encrypted-models); encrypt it with npm run encrypt-model`,
    );
  return { path, shown, encrypted: false };
}

export async function startVersions(a: StartArgs): Promise<{ loaded: LoadedVersion[]; completed: ModelConfig | undefined }> {
  const { name, log } = a;
  // Load the highest version first: auto-complete reads its model.
  const loaded: LoadedVersion[] = [];
  for (const version of [...a.selection.load].reverse()) {
    let file: ReturnType<typeof modelFileOf>;
    let modelBytes: SharedArrayBuffer | undefined;
    try {
      file = modelFileOf(a.dir, version, a.fileName, a.requireEncrypted ?? false);
      if (file.encrypted) modelBytes = await decryptModelFile(file.path, file.shown, a.modelKeys);
    } catch (err) {
      loaded.push({ version, runner: undefined, error: reasonOf(err) });
      continue;
    }
    const shown = file.shown;
    if (modelBytes) log.info(`model '${name}' version ${version}: ${shown} decrypted in memory`, { model: name, version });
    try {
      const runner = await ModelRunner.create({
        modelName: name,
        modelPath: file.path,
        modelBytes,
        replicas: a.settings.replicas,
        options: a.settings.session,
        workerMaxOldGenerationMb: a.settings.workerMaxOldGenerationMb,
        onPlacement: (replica, device, note) =>
          log.info(`model '${name}' version ${version}: instance ${replica} on ${device} (${note})`, { model: name, version, replica, device }),
      });
      loaded.push({ version, runner, error: '' });
    } catch (err) {
      loaded.push({ version, runner: undefined, error: `failed to load ${shown}: ${reasonOf(err)}` });
    }
  }
  for (const v of a.selection.missing) loaded.push({ version: v, runner: undefined, error: `version folder ${v} does not exist` });

  let completed: ModelConfig | undefined;
  for (const l of loaded) {
    if (!l.runner) continue;
    try {
      const c = completeConfig(a.config, l.runner.io, a.complete);
      completed ??= c;
      if (c !== completed && JSON.stringify(ModelConfig.toJSON(c)) !== JSON.stringify(ModelConfig.toJSON(completed))) {
        throw new ConfigError(`version ${l.version}'s ONNX model has different inputs or outputs from version ${loaded.find((x) => x.runner)!.version}'s`);
      }
      if (c.modelWarmup.length > 0) {
        checkWarmup(c, a.dir);
        const t0 = a.clock.now();
        const runs = await runWarmup(l.runner, c, a.dir);
        log.info(`model '${name}' version ${l.version}: warmup done, ${runs} run(s) in ${Math.round(a.clock.now() - t0)} ms`, {
          model: name,
          version: l.version,
        });
      }
    } catch (err) {
      await l.runner.close();
      l.runner = undefined;
      l.error = reasonOf(err);
    }
  }
  return { loaded, completed };
}

/** Model parameter latency_target_us (0 when absent). */
export function latencyTargetUs(config: ModelConfig): number {
  const v = config.parameters['latency_target_us']?.stringValue;
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new ConfigError(`parameters["latency_target_us"] must be a positive integer of microseconds, got '${v}'`);
  return n;
}

/**
 * The model's queue wait limit in ms: its parameter max_queue_wait_us (0 turns shedding off
 * for it); else its latency target, which says what wait it can take (unless the server's
 * --max-queue-wait is 0: shedding off everywhere); else the server's.
 */
export function maxQueueWaitMs(config: ModelConfig, serverDefaultMs: number): number {
  const v = config.parameters['max_queue_wait_us']?.stringValue;
  if (v === undefined || v === '') {
    const target = latencyTargetUs(config);
    return serverDefaultMs > 0 && target > 0 ? Math.min(target / 1000, LIMITS.maxQueueWaitMs.max) : serverDefaultMs;
  }
  const maxUs = LIMITS.maxQueueWaitMs.max * 1000;
  if (!/^\d{1,12}$/.test(v) || Number(v) > maxUs) {
    throw new ConfigError(`parameters["max_queue_wait_us"] must be a whole number of microseconds up to ${maxUs} (0 = no limit), got '${v}'`);
  }
  return Number(v) / 1000;
}

export function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
