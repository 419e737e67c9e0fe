// TLS files (tritonserver's --grpc-server-cert, --grpc-server-key, --grpc-root-cert): read,
// checked as a whole (the key belongs to the certificate, every PEM parses, Node's TLS
// accepts them) and re-read on change without dropping connections. A reload that fails
// its checks keeps the material in use and says why: a half-written or mismatched file
// must never take the port down.
//
// TlsMaterialSource has the shape of grpc-js's experimental CertificateProvider, so the
// gRPC frontend can hand it to createCertificateProviderServerCredentials; the metrics
// endpoint listens to it too. This module does not import grpc-js.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';

export interface TlsFiles {
  cert: string;
  key: string;
  /** CA bundle that client certificates must chain to (mutual TLS), if any. */
  root?: string | undefined;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  /** SHA-256 fingerprint of the server certificate, as X509Certificate prints it. */
  readonly fingerprint256: string;
  readonly notAfter: string;
}

/** Reads and checks the files; throws an Error naming the file (by base name) and the problem. */
export function readTlsMaterial(files: TlsFiles, what: string): TlsMaterial {
  const read = (path: string, role: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new Error(`${what}: cannot read the ${role} file ${basename(path)} (${code})`);
    }
  };
  const cert = read(files.cert, 'server certificate');
  const key = read(files.key, 'server key');
  const ca = files.root ? read(files.root, 'root certificate') : undefined;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new Error(`${what}: ${basename(files.cert)} is not a PEM certificate`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new Error(`${what}: ${basename(files.key)} is not a PEM private key (encrypted keys are not supported)`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new Error(`${what}: ${basename(files.key)} is not the key of ${basename(files.cert)}`);
  if (ca) {
    try {
      new X509Certificate(ca);
    } catch {
      throw new Error(`${what}: ${basename(files.root ?? '')} is not a PEM certificate bundle`);
    }
  }
  try {
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new Error(`${what}: the TLS library refused these files: ${err instanceof Error ? err.message : String(err)}`);
  }
  return Object.freeze({ cert, key, ca, fingerprint256: x509.fingerprint256, notAfter: x509.validTo });
}

type CaListener = (update: { caCertificate: Buffer } | null) => void;
type IdentityListener = (update: { certificate: Buffer; privateKey: Buffer } | null) => void;

export type ReloadOutcome =
  | { outcome: 'ok'; fingerprint256: string; validTo: string; expired: boolean }
  | { outcome: 'unchanged' }
  | { outcome: 'failed'; reason: string };

/** The current material, re-read by reload(); listeners hear only material that passed the checks. */
export class TlsMaterialSource {
  private material: TlsMaterial;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly changeListeners = new Set<(m: TlsMaterial) => void>();

  /** Throws (start-up fails) when the files are missing or do not pass the checks. */
  constructor(
    readonly files: TlsFiles,
    readonly what: string,
  ) {
    this.material = readTlsMaterial(files, what);
  }

  get current(): TlsMaterial {
    return this.material;
  }

  /** Re-reads the files; on success every listener gets the new material. */
  reload(): ReloadOutcome {
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(this.files, this.what);
    } catch (err) {
      return { outcome: 'failed', reason: err instanceof Error ? err.message : String(err) };
    }
    const same =
      next.cert.equals(this.material.cert) &&
      next.key.equals(this.material.key) &&
      (next.ca?.equals(this.material.ca ?? Buffer.alloc(0)) ?? this.material.ca === undefined);
    if (same) return { outcome: 'unchanged' };
    this.material = next;
    for (const l of this.identityListeners) l({ certificate: next.cert, privateKey: next.key });
    if (next.ca) for (const l of this.caListeners) l({ caCertificate: next.ca });
    for (const l of this.changeListeners) l(next);
    const expired = Date.parse(next.notAfter) < Date.now();
    return { outcome: 'ok', fingerprint256: next.fingerprint256, validTo: next.notAfter, expired };
  }

  /** Called with the new material after each successful reload. */
  onChange(listener: (m: TlsMaterial) => void): void {
    this.changeListeners.add(listener);
  }

  // grpc-js CertificateProvider: a listener is told the current material on the next tick.
  // Not synchronously: grpc-js adds its own watcher only after adding these listeners, and
  // would miss an update made before (its server then refuses every handshake).
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => {
      if (this.caListeners.has(listener)) listener(this.material.ca ? { caCertificate: this.material.ca } : null);
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => {
      if (this.identityListeners.has(listener)) listener({ certificate: this.material.cert, privateKey: this.material.key });
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
}
