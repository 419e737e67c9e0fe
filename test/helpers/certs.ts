// Real certificates for the TLS tests, made with Debian's openssl CLI in a temporary
// folder: a CA, a server certificate for 127.0.0.1/localhost, two client certificates, a
// second server certificate from the same CA (for rotation), and another CA with a client
// certificate that claims client-a's subject (an intruder). EC P-256 keys, two days.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pair {
  cert: string;
  key: string;
}

export interface TestCerts {
  dir: string;
  ca: Pair;
  server: Pair;
  serverRotated: Pair;
  clientA: Pair;
  clientB: Pair;
  otherCa: Pair;
  intruder: Pair;
  read(path: string): Buffer;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function key(dir: string, name: string): string {
  const path = join(dir, `${name}.key`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path], dir);
  return path;
}

function selfSignedCa(dir: string, name: string, subject: string): Pair {
  const k = key(dir, name);
  const cert = join(dir, `${name}.pem`);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      k,
      '-subj',
      subject,
      '-days',
      '2',
      '-out',
      cert,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { cert, key: k };
}

function signed(dir: string, name: string, subject: string, ca: Pair, ext: string): Pair {
  const k = key(dir, name);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(['req', '-new', '-key', k, '-subj', subject, '-out', csr], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-out', cert, '-extfile', extFile], dir);
  return { cert, key: k };
}

const SERVER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n';

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'triton-ts-certs-'));
  const ca = selfSignedCa(dir, 'ca', '/CN=triton-ts test CA/O=tests');
  const otherCa = selfSignedCa(dir, 'other-ca', '/CN=another CA/O=elsewhere');
  return {
    dir,
    ca,
    server: signed(dir, 'server', '/CN=localhost/O=tests', ca, SERVER_EXT),
    serverRotated: signed(dir, 'server-rotated', '/CN=localhost/O=tests rotated', ca, SERVER_EXT),
    clientA: signed(dir, 'client-a', '/CN=client-a/O=tests', ca, CLIENT_EXT),
    clientB: signed(dir, 'client-b', '/CN=client-b/O=tests', ca, CLIENT_EXT),
    otherCa,
    intruder: signed(dir, 'intruder', '/CN=client-a/O=tests', otherCa, CLIENT_EXT),
    read: (path) => readFileSync(path),
  };
}
