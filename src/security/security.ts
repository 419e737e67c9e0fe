// The server's security state, built once at start from the flags: the access check
// (restricted-protocol headers and the access policy), the TLS material of each listener,
// and the audit log. Files named at start are re-read when they change and on SIGHUP; a
// policy or certificate that fails its checks keeps the one in use, and the log and the
// audit trail say why. Start-up fails on anything missing or bad.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from '../log.js';
import { AccessControl, type Denial } from './access-control.js';
import { parseAccessPolicy, type AccessPolicy } from './access-policy.js';
import { makeSampler, openAuditLog, whoOf, type AuditLog } from './audit-log.js';
import { watchFiles } from './file-watch.js';
import type { Restriction } from './restricted-protocol.js';
import { TlsMaterialSource, type TlsFiles } from './tls-material.js';
import { OriginPolicy } from './origin-policy.js';
import { loadModelKeys, type ModelKeyRing, type ModelKeySources } from './model-keys.js';

export interface TlsSettings extends TlsFiles {
  /** Client certificates required and verified against `root`. */
  mutual: boolean;
}

export interface SecurityOptions {
  grpcTls?: TlsSettings | undefined;
  metricsTls?: TlsSettings | undefined;
  restrictions: readonly Restriction[];
  accessPolicyFile?: string | undefined;
  auditLogFile?: string | undefined;
  /** Share of inference calls written to the audit log, 0..1. */
  auditInferSampleRate: number;
  /** Keys for models stored encrypted at rest (--model-key-file, --model-key-env). */
  modelKeys?: ModelKeySources | undefined;
  /** Serve only models stored encrypted (--require-encrypted-models). */
  requireEncryptedModels?: boolean | undefined;
  /** --http-cors-origin: web origins whose pages may call the HTTP API. */
  httpCorsOrigins?: readonly string[] | undefined;
  /** --http-allowed-host: when given, the only DNS names an HTTP Host header may carry. */
  httpAllowedHosts?: readonly string[] | undefined;
  /** How often watched files are stat()ed (tests make it short). */
  watchIntervalMs?: number;
}

const MAX_POLICY_FILE_BYTES = 1 << 20;

export class Security {
  readonly access: AccessControl;
  readonly grpcTls: TlsMaterialSource | undefined;
  readonly metricsTls: TlsMaterialSource | undefined;
  readonly audit: AuditLog | undefined;
  /** Keys of models encrypted at rest; read once at start (a restart picks up new keys). */
  readonly modelKeys: ModelKeyRing | undefined;
  /** What the operator should hear at start about these settings. */
  readonly warnings: readonly string[];
  /** Whether this inference call is one the audit log samples. */
  readonly sampleInfer: () => boolean;
  private readonly unwatch: Array<() => void> = [];

  /** Throws an Error naming the file and the problem when anything named at start is bad. */
  constructor(
    private readonly opts: SecurityOptions,
    private readonly log: Logger,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const keys = loadModelKeys(opts.modelKeys ?? {}, env);
    this.modelKeys = keys.ring;
    this.warnings = keys.warnings;
    this.audit = opts.auditLogFile ? openAuditLog(opts.auditLogFile) : undefined;
    const policy = opts.accessPolicyFile ? readPolicy(opts.accessPolicyFile) : undefined;
    this.access = new AccessControl({
      policy,
      restrictions: opts.restrictions,
      origins: new OriginPolicy(opts.httpCorsOrigins, opts.httpAllowedHosts),
      onDenied: (d) => this.denied(d),
    });
    this.grpcTls = opts.grpcTls ? new TlsMaterialSource(opts.grpcTls, 'gRPC TLS') : undefined;
    const sameFiles = opts.metricsTls && opts.grpcTls && sameTlsFiles(opts.metricsTls, opts.grpcTls);
    this.metricsTls = opts.metricsTls ? (sameFiles ? this.grpcTls : new TlsMaterialSource(opts.metricsTls, 'metrics TLS')) : undefined;
    this.sampleInfer = makeSampler(this.audit ? opts.auditInferSampleRate : 0);
  }

  /** What the start-up log says about the policy. */
  describePolicy(): string {
    const p = this.opts.accessPolicyFile;
    return p ? `access policy ${basename(p)}` : 'no access policy';
  }

  /** Starts watching the policy and certificate files. */
  watch(): void {
    const interval = this.opts.watchIntervalMs !== undefined ? { intervalMs: this.opts.watchIntervalMs } : {};
    const policyFile = this.opts.accessPolicyFile;
    if (policyFile) this.unwatch.push(watchFiles([policyFile], () => this.reloadPolicy('file change'), interval));
    for (const source of this.tlsSources()) {
      const f = source.files;
      this.unwatch.push(watchFiles([f.cert, f.key, ...(f.root ? [f.root] : [])], () => this.reloadTls(source, 'file change'), interval));
    }
  }

  /** SIGHUP: re-read the policy and certificates, reopen the audit log (after rotation). */
  reloadAll(trigger: string): void {
    const why = this.audit?.reopen();
    if (why) this.log.error(`audit log not reopened (${trigger}); lines go on to the file already open: ${why}`);
    if (this.opts.accessPolicyFile) this.reloadPolicy(trigger);
    for (const source of this.tlsSources()) this.reloadTls(source, trigger);
  }

  reloadPolicy(trigger: string): void {
    const file = this.opts.accessPolicyFile;
    if (!file) return;
    let policy: AccessPolicy;
    try {
      policy = readPolicy(file);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.log.error(`access policy not reloaded (${trigger}); the policy in use stays: ${reason}`);
      this.audit?.record({ event: 'policy_reload', outcome: 'failed', reason });
      return;
    }
    this.access.setPolicy(policy);
    this.log.info(`access policy reloaded (${trigger}): ${policy.principals.length} principals`);
    this.audit?.record({ event: 'policy_reload', outcome: 'ok', principals: policy.principals.length });
  }

  private reloadTls(source: TlsMaterialSource, trigger: string): void {
    const r = source.reload();
    if (r.outcome === 'unchanged') return;
    if (r.outcome === 'failed') {
      this.log.error(`${source.what} certificates not reloaded (${trigger}); the ones in use stay: ${r.reason}`);
      this.audit?.record({ event: 'certificate_reload', what: source.what, outcome: 'failed', reason: r.reason });
      return;
    }
    this.log.info(`${source.what} certificates reloaded (${trigger}): server certificate ${r.fingerprint256}`);
    if (r.expired) this.log.warn(`${source.what}: the server certificate now in use expired on ${r.validTo}; clients will refuse it`);
    this.audit?.record({ event: 'certificate_reload', what: source.what, outcome: 'ok', fingerprint256: r.fingerprint256 });
  }

  private tlsSources(): TlsMaterialSource[] {
    return [...new Set([this.grpcTls, this.metricsTls])].filter((s): s is TlsMaterialSource => s !== undefined);
  }

  private denied(d: Denial): void {
    this.log.verbose(`access denied: ${d.reason}`, { route: d.route, code: d.code, peer: d.who.peer });
    this.audit?.record({
      event: 'access_denied',
      who: whoOf(d.who),
      route: d.route,
      ...(d.model !== undefined ? { model: d.model } : {}),
      code: d.code,
      reason: d.reason,
    });
  }

  async close(): Promise<void> {
    for (const stop of this.unwatch.splice(0)) stop();
    await this.audit?.close();
  }
}

function sameTlsFiles(a: TlsSettings, b: TlsSettings): boolean {
  return a.cert === b.cert && a.key === b.key && a.root === b.root;
}

/** Reads at most 1 MiB plus one byte, so a huge file is refused without being read whole. */
function readPolicy(file: string): AccessPolicy {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new Error(`cannot read the access policy ${basename(file)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`the access policy ${basename(file)} is not a regular file`);
    const buf = Buffer.alloc(MAX_POLICY_FILE_BYTES + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += r;
    if (n > MAX_POLICY_FILE_BYTES) throw new Error(`the access policy ${basename(file)} is larger than ${MAX_POLICY_FILE_BYTES} bytes`);
    return parseAccessPolicy(buf.subarray(0, n).toString('utf8'), basename(file));
  } finally {
    closeSync(fd);
  }
}
