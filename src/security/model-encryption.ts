// Models encrypted at rest: AES-256-GCM over the whole ONNX file, one random 96-bit IV per
// file. Layout (all of the header is authenticated as additional data, so a key id or IV
// changed on disk fails the tag like a changed byte of the model):
//
//   "TTSMENC1" (8 bytes) | key id length (1 byte, 1-32) | key id (ASCII) | IV (12 bytes)
//   | ciphertext (the ONNX file's length) | GCM tag (16 bytes)
//
// The server decrypts into memory only (a SharedArrayBuffer the replica threads read
// from); plaintext never touches the disk. Decryption reads the file in chunks, so the
// event loop is never held for the whole file, and the plaintext is zeroed and dropped
// when the tag does not verify: no byte of an unauthenticated model is ever used.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { KEY_ID, KEY_ID_RULE, type ModelKeyRing } from './model-keys.js';

export const MAGIC = Buffer.from('TTSMENC1', 'latin1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_KEY_ID = 32;
const MAX_HEADER = MAGIC.length + 1 + MAX_KEY_ID + IV_BYTES;
const CHUNK = 1 << 20;

/** The file name an encrypted model has: the model file's name with ".enc". */
export const ENCRYPTED_SUFFIX = '.enc';

export class ModelDecryptError extends Error {}

/** Encrypts a model file's bytes under `key` (32 bytes), naming `keyId` in the header. */
export function encryptModel(plain: Uint8Array, keyId: string, key: Buffer): Buffer {
  if (!KEY_ID.test(keyId)) throw new Error(KEY_ID_RULE);
  if (key.length !== 32) throw new Error('an AES-256 key is 32 bytes');
  const header = Buffer.concat([MAGIC, Buffer.from([keyId.length]), Buffer.from(keyId, 'latin1'), randomBytes(IV_BYTES)]);
  const cipher = createCipheriv('aes-256-gcm', key, header.subarray(header.length - IV_BYTES), { authTagLength: TAG_BYTES });
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

export interface ModelHeader {
  keyId: string;
  iv: Buffer;
  /** The header's bytes (the additional authenticated data). */
  bytes: Buffer;
}

/** Parses the header at the start of `buf`; throws ModelDecryptError naming what is wrong. */
export function parseHeader(buf: Buffer, shown: string): ModelHeader {
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new ModelDecryptError(`${shown} is not an encrypted model (it does not start with the TTSMENC1 header); encrypt it with npm run encrypt-model`);
  }
  const idLen = buf[MAGIC.length] ?? 0;
  const end = MAGIC.length + 1 + idLen + IV_BYTES;
  if (idLen < 1 || idLen > MAX_KEY_ID || buf.length < end) throw new ModelDecryptError(`${shown}: its encryption header is damaged or cut short`);
  const keyId = buf.subarray(MAGIC.length + 1, MAGIC.length + 1 + idLen).toString('latin1');
  if (!KEY_ID.test(keyId)) throw new ModelDecryptError(`${shown}: its encryption header names a malformed key id`);
  return { keyId, iv: Buffer.from(buf.subarray(end - IV_BYTES, end)), bytes: Buffer.from(buf.subarray(0, end)) };
}

/** The largest encrypted model read: ONNX Runtime reads no model over 2 GiB from memory. */
export const MAX_ENCRYPTED_MODEL_BYTES = 2 ** 31 - 1;

/**
 * Reads and decrypts an encrypted model file into shared memory. Throws
 * ModelDecryptError with a reason fit for the model's status (so never a server path):
 * not a readable regular file, too large, no keys, an unknown key id, a damaged header,
 * or a tag that does not verify (altered file or wrong key).
 */
export async function decryptModelFile(
  path: string,
  shown: string,
  ring: ModelKeyRing | undefined,
  maxBytes = MAX_ENCRYPTED_MODEL_BYTES,
): Promise<SharedArrayBuffer> {
  let fh: FileHandle;
  try {
    // Non-blocking, so a FIFO in the repository cannot hold the load; it is refused below.
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new ModelDecryptError(`${shown} cannot be opened (${codeOf(err)})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ModelDecryptError(`${shown} is not a regular file`);
    const size = st.size;
    // Checked before anything is allocated: the size is whatever the file says.
    if (size > maxBytes + MAX_HEADER + TAG_BYTES) throw new ModelDecryptError(`${shown} is ${size} bytes; an encrypted model may be at most ${maxBytes} bytes`);
    const head = Buffer.alloc(Math.min(size, MAX_HEADER));
    await readFully(fh, head, 0, shown);
    const header = parseHeader(head, shown);
    if (size < header.bytes.length + TAG_BYTES) throw new ModelDecryptError(`${shown}: the encrypted file is cut short`);
    if (!ring) {
      throw new ModelDecryptError(
        `${shown} is encrypted with key '${header.keyId}', but the server was given no model keys (--model-key-file or --model-key-env)`,
      );
    }
    const key = ring.get(header.keyId);
    if (!key) throw new ModelDecryptError(`${shown} is encrypted with key '${header.keyId}', which is not among the server's model keys`);
    const tag = Buffer.alloc(TAG_BYTES);
    await readFully(fh, tag, size - TAG_BYTES, shown);
    const decipher = createDecipheriv('aes-256-gcm', key, header.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(header.bytes);
    decipher.setAuthTag(tag);
    const length = size - header.bytes.length - TAG_BYTES;
    let plain: SharedArrayBuffer;
    try {
      plain = new SharedArrayBuffer(length);
    } catch {
      throw new ModelDecryptError(`${shown}: no memory for its ${length} bytes`);
    }
    const view = new Uint8Array(plain);
    const chunk = Buffer.alloc(Math.min(CHUNK, Math.max(length, 1)));
    let done = 0;
    try {
      while (done < length) {
        const n = Math.min(chunk.length, length - done);
        await readFully(fh, chunk.subarray(0, n), header.bytes.length + done, shown);
        const out = decipher.update(chunk.subarray(0, n));
        view.set(out, done);
        out.fill(0);
        done += n;
      }
      try {
        decipher.final();
      } catch {
        throw new ModelDecryptError(
          `${shown} did not decrypt with key '${header.keyId}': the file was altered, or it was encrypted with another key under that id`,
        );
      }
    } catch (err) {
      view.fill(0);
      throw err;
    } finally {
      chunk.fill(0);
    }
    return plain;
  } finally {
    await fh.close();
  }
}

async function readFully(fh: FileHandle, buf: Buffer, position: number, shown: string): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(buf, off, buf.length - off, position + off));
    } catch (err) {
      throw new ModelDecryptError(`${shown} could not be read (${codeOf(err)})`);
    }
    if (bytesRead === 0) throw new ModelDecryptError(`${shown} changed size while it was read`);
    off += bytesRead;
  }
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? 'error';
}
