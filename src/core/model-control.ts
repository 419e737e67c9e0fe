// RepositoryIndex, RepositoryModelLoad and RepositoryModelUnload, whatever the transport:
// the index shows only what the caller may see; loads and unloads need explicit mode, take
// Triton's parameters ("config", "file:<version>/<name>") and go to the audit trail with
// who asked.

import type { ModelRepositoryParameter, RepositoryIndexResponse_ModelIndex } from '../generated/inference/grpc_service.js';
import { Code, ServeError, invalid } from '../errors.js';
import { checkModelName } from '../model/model-name.js';
import { redactPaths } from '../redact.js';
import type { LoadOverride } from '../repository/load-override.js';
import type { Principal } from '../security/access-control.js';
import { whoOf } from '../security/audit-log.js';
import { modelAuditFields } from '../security/model-audit.js';
import type { ServiceContext } from './context.js';

export class ModelControl {
  constructor(private readonly ctx: ServiceContext) {}

  index(ready: boolean, caller: Principal | undefined): RepositoryIndexResponse_ModelIndex[] {
    const { registry, repository, security } = this.ctx;
    const names = new Set([...repository.modelNames(), ...registry.all().map((m) => m.name)]);
    const models: RepositoryIndexResponse_ModelIndex[] = [];
    for (const name of [...names].sort()) {
      if (!security.access.canSee(caller, 'model-repository', name)) continue;
      const e = registry.entry(name);
      if (e && e.versions.size > 0) {
        for (const v of [...e.versions.values()].sort((a, b) => a.version - b.version)) {
          models.push({ name, version: String(v.version), state: v.state, reason: redactPaths(v.reason) });
        }
      } else if (e?.state) {
        models.push({ name, version: '', state: e.state, reason: redactPaths(e.reason) });
      } else {
        models.push({ name, version: '', state: '', reason: '' });
      }
    }
    return ready ? models.filter((m) => m.state === 'READY') : models;
  }

  /** `parameters` as the request carries them; `file:` values are the file's bytes. */
  async load(name: string, parameters: Record<string, ModelRepositoryParameter>, caller: Principal | undefined): Promise<void> {
    this.checkControl('RepositoryModelLoad');
    checkModelName(name);
    // Checked here, before any process is asked: the request's own mistakes answer once.
    loadOverride(parameters);
    await this.audited(caller, 'model_load', name, this.ctx.cluster.everywhere('load', { name, parameters }));
  }

  async unload(name: string, caller: Principal | undefined): Promise<void> {
    this.checkControl('RepositoryModelUnload');
    checkModelName(name);
    await this.audited(caller, 'model_unload', name, this.ctx.cluster.everywhere('unload', { name }));
  }

  private checkControl(what: string): void {
    const mode = this.ctx.controlMode;
    if (mode !== 'explicit') throw new ServeError(Code.FAILED_PRECONDITION, `${what} needs --model-control-mode=explicit; this server runs in '${mode}' mode`);
  }

  /** Loads and unloads requested over the network, with who asked, to the audit trail. */
  private async audited(caller: Principal | undefined, kind: 'model_load' | 'model_unload', name: string, work: Promise<unknown>): Promise<void> {
    const { security, registry } = this.ctx;
    try {
      await work;
      security.audit?.record({ event: kind, who: whoOf(caller), model: name, outcome: 'ok', ...modelAuditFields(registry.entry(name)) });
    } catch (err) {
      security.audit?.record({
        event: kind,
        who: whoOf(caller),
        model: name,
        outcome: 'failed',
        reason: err instanceof Error ? err.message : String(err),
        ...modelAuditFields(registry.entry(name)),
      });
      throw err;
    }
  }
}

/** RepositoryModelLoad's parameters as a load override, checked whole. */
export function loadOverride(parameters: Record<string, ModelRepositoryParameter>): LoadOverride {
  const override: LoadOverride = {};
  // A decoder that stores map entries on a plain object turns a key "__proto__" into its
  // prototype instead of an entry. Refuse it rather than ignore it.
  if (Object.getPrototypeOf(parameters) !== Object.prototype && Object.getPrototypeOf(parameters) !== null) {
    throw invalid("RepositoryModelLoad parameter '__proto__' is not a parameter this server knows");
  }
  for (const [key, value] of Object.entries(parameters)) {
    const c = value.parameterChoice;
    if (key === 'config' && c?.$case === 'stringParam') override.configJson = c.value;
    // Without a prototype, so a 'file:__proto__' key is an entry the file checks refuse, not a prototype.
    else if (key.startsWith('file:') && c?.$case === 'bytesParam')
      (override.files ??= Object.create(null) as Record<string, Uint8Array>)[key.slice(5)] = c.value;
    else if (key === 'config' || key.startsWith('file:'))
      throw invalid(`RepositoryModelLoad parameter '${key}' must be a ${key === 'config' ? 'string' : 'bytes'} parameter`);
    else throw new ServeError(Code.UNIMPLEMENTED, `RepositoryModelLoad parameter '${key}' is not implemented; 'config' and 'file:<version>/<name>' are`);
  }
  return override;
}
