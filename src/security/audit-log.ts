// The audit trail (--audit-log FILE): one JSON object per line, appended, never rewritten.
// Named only on the command line, never over the network. The file is opened O_APPEND with
// mode 0600 and refused when it is a symlink or not a regular file. Lines are queued in
// memory and written in order; past the bound of the queue new lines are counted and
// dropped, and the next line written says how many (`audit_dropped`), so a stalled disk
// costs memory up to the bound and never blocks a call. record() never throws.
//
// Every string is capped and has control characters, DEL and U+2028/U+2029 escaped, so no
// client-chosen text (a model name, a certificate subject) can forge or split a line.
// `time` and `event` come last and cannot be overwritten by a field.

import { closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, write as fsWrite } from 'node:fs';
import { basename } from 'node:path';
import type { Principal } from './access-control.js';

export interface AuditWho {
  /** Policy name; '' for anonymous callers and the server itself. */
  principal: string;
  via: 'api-key' | 'certificate' | 'anonymous' | 'open' | 'server';
  subject?: string;
  peer?: string;
}

/** Actions the server takes itself (start-up loads, polling). */
export const SERVER_WHO: AuditWho = Object.freeze({ principal: '', via: 'server' });

export function whoOf(p: Principal | undefined): AuditWho {
  if (!p) return { principal: '', via: 'open' };
  return { principal: p.name, via: p.via, ...(p.subject !== undefined ? { subject: p.subject } : {}), peer: p.peer };
}

type VersionState = { version: number; state: string; reason?: string };

export type AuditEvent =
  | { event: 'server_start'; version: string; pid: number; args: string[] }
  | { event: 'server_stop'; reason: string }
  | {
      event: 'model_load' | 'model_unload';
      who: AuditWho;
      model: string;
      outcome: 'ok' | 'failed';
      reason?: string;
      versions: VersionState[];
      config_sha256?: string;
    }
  | { event: 'access_denied'; who: AuditWho; route: string; model?: string; code: string; reason: string }
  | { event: 'policy_reload'; outcome: 'ok' | 'failed'; reason?: string; principals?: number }
  | { event: 'certificate_reload'; what: string; outcome: 'ok' | 'failed'; fingerprint256?: string; reason?: string }
  | { event: 'infer'; who: AuditWho; model: string; version: string; outcome: string; request_id?: string };

export interface AuditLogOptions {
  /** Lines held while the disk is slow; past it lines are dropped and counted. */
  maxQueuedLines?: number;
  maxQueuedBytes?: number;
  now?: () => Date;
}

export const MAX_AUDIT_STRING = 512;

export class AuditLog {
  private fd: number;
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private idle: Array<() => void> = [];
  /** Lines dropped since the last `audit_dropped` line. */
  private droppedSince = 0;
  /** Lines dropped in all. */
  dropped = 0;
  private readonly maxLines: number;
  private readonly maxBytes: number;
  private readonly now: () => Date;

  constructor(
    readonly path: string,
    opts: AuditLogOptions = {},
  ) {
    this.maxLines = opts.maxQueuedLines ?? 10_000;
    this.maxBytes = opts.maxQueuedBytes ?? 8 << 20;
    this.now = opts.now ?? (() => new Date());
    this.fd = openAppend(path);
  }

  record(event: AuditEvent): void {
    if (this.closed) return;
    try {
      if (this.droppedSince > 0) {
        const note = this.line({ event: 'audit_dropped', dropped: this.droppedSince });
        // Only once it fits: a note that is itself dropped would lose the count.
        if (this.fits(note)) {
          this.droppedSince = 0;
          this.enqueue(note);
        }
      }
      this.enqueue(this.line(event as unknown as Record<string, unknown>));
    } catch {
      this.drop();
    }
  }

  /**
   * Opens the path again (after logrotate moved the file); lines queued go to the new file.
   * On failure it keeps writing to the old file rather than losing lines, and returns why.
   */
  reopen(): string | undefined {
    if (this.closed || this.closing) return undefined;
    let fd: number;
    try {
      fd = openAppend(this.path);
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    const old = this.fd;
    this.fd = fd;
    // A write in flight holds the old descriptor (each batch keeps the one it began on).
    void this.flushed().then(() => closeQuietly(old));
    return undefined;
  }

  /** Resolves once every queued line is written. */
  flushed(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Writes what is queued, then closes; later records are ignored. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.flushed().then(() => {
      this.closed = true;
      closeQuietly(this.fd);
    });
    return this.closing;
  }

  private line(fields: Record<string, unknown>): string {
    const { event, ...rest } = fields;
    return `${JSON.stringify({ ...(clean(rest) as object), time: this.now().toISOString(), event: clean(event) })}\n`;
  }

  private fits(line: string): boolean {
    return this.queue.length < this.maxLines && this.queuedBytes + Buffer.byteLength(line) <= this.maxBytes;
  }

  private enqueue(line: string): void {
    if (!this.fits(line)) {
      this.drop();
      return;
    }
    this.queue.push(line);
    this.queuedBytes += Buffer.byteLength(line);
    this.pump();
  }

  private drop(): void {
    this.dropped++;
    this.droppedSince++;
  }

  private pump(): void {
    if (this.writing) return;
    const batch = this.queue.splice(0, 256);
    if (batch.length === 0) {
      for (const r of this.idle.splice(0)) r();
      return;
    }
    this.writing = true;
    // The descriptor this batch began on: a reopen mid-batch must not split it across files.
    const fd = this.fd;
    const buf = Buffer.from(batch.join(''));
    const done = (lost: boolean): void => {
      this.queuedBytes -= buf.length;
      if (lost) {
        this.dropped += batch.length;
        this.droppedSince += batch.length;
      }
      this.writing = false;
      this.pump();
    };
    const writeFrom = (offset: number): void => {
      fsWrite(fd, buf, offset, buf.length - offset, null, (err, n) => {
        if (err) return done(true);
        if (offset + n < buf.length) return writeFrom(offset + n);
        done(false);
      });
    };
    writeFrom(0);
  }
}

/** Opens (creating, 0600) for append; refuses a symlink, a directory or any non-regular file. */
function openAppend(path: string): number {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`--audit-log: cannot use ${basename(path)} (${(err as NodeJS.ErrnoException).code})`);
  }
  if (st?.isSymbolicLink()) throw new Error(`--audit-log: ${basename(path)} is a symbolic link; name the file itself`);
  if (st && !st.isFile()) throw new Error(`--audit-log: ${basename(path)} is not a regular file`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o600);
  } catch (err) {
    throw new Error(`--audit-log: cannot open ${basename(path)} for appending (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const st2 = fstatSync(fd);
  if (!st2.isFile()) {
    closeQuietly(fd);
    throw new Error(`--audit-log: ${basename(path)} is not a regular file`);
  }
  // A file that existed with looser permissions is made private; one we cannot change is refused.
  if ((st2.mode & 0o077) !== 0) {
    try {
      fchmodSync(fd, 0o600);
    } catch (err) {
      closeQuietly(fd);
      throw new Error(`--audit-log: ${basename(path)} is readable by others and cannot be made private (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return fd;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** Caps strings and escapes what JSON.stringify leaves as is (DEL, U+2028, U+2029). */
function clean(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return capString(v);
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return v;
  if (depth > 4) return '[nested too deep]';
  if (Array.isArray(v)) return v.slice(0, 1000).map((x) => clean(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[capString(k)] = clean(x, depth + 1);
  return out;
}

export function capString(s: string): string {
  const capped = s.length > MAX_AUDIT_STRING ? `${s.slice(0, MAX_AUDIT_STRING)}…(+${s.length - MAX_AUDIT_STRING} chars)` : s;
  // eslint-disable-next-line no-control-regex
  return capped.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function openAuditLog(path: string, opts?: AuditLogOptions): AuditLog {
  return new AuditLog(path, opts);
}

/** Whether to audit this inference call: `rate` of them, at random. */
export function makeSampler(rate: number, random: () => number = Math.random): () => boolean {
  if (!(rate > 0)) return () => false;
  if (rate >= 1) return () => true;
  return () => random() < rate;
}
