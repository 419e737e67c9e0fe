// Request bodies, bounded while they stream in: a Content-Length over the limit is refused
// before a byte is read, a chunked body the moment it passes the limit, and a compressed
// body (Content-Encoding gzip or deflate) is inflated under the same limit on what it
// inflates to, so a small bomb cannot fill memory.

import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { invalid } from '../../errors.js';

/** An answer that has an HTTP status of its own, not one from the error catalogue. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The bytes of request bodies held at once over every connection. Each request takes a
 * hold; its bytes count from the chunk that brings them until its answer is sent.
 */
export class BodyBudget {
  private held = 0;

  constructor(readonly maxBytes: number) {}

  hold(): BodyHold {
    let mine = 0;
    return {
      take: (n) => {
        if (this.held + n > this.maxBytes) return false;
        this.held += n;
        mine += n;
        return true;
      },
      release: () => {
        this.held -= mine;
        mine = 0;
      },
    };
  }

  get inUse(): number {
    return this.held;
  }
}

export interface BodyHold {
  /** Counts `n` more bytes; false (nothing counted) when the server holds too much already. */
  take(n: number): boolean;
  release(): void;
}

export function readBody(req: IncomingMessage, maxBytes: number, flag: string, hold: BodyHold): Promise<Buffer> {
  const busy = (): HttpError =>
    new HttpError(503, 'the server holds too many request bodies at once (--http-max-buffered-bytes); retry later', { 'retry-after': '1' });
  const tooLarge = (): HttpError => new HttpError(413, `the request body is larger than ${maxBytes} bytes (${flag})`);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.reject(tooLarge());
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  let inflater: Gunzip | Inflate | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') inflater = createGunzip();
  else if (encoding === 'deflate') inflater = createInflate();
  else if (encoding !== 'identity')
    return Promise.reject(
      new HttpError(501, `Content-Encoding '${encoding.slice(0, 40)}' is not supported; send gzip, deflate or identity`, {
        'accept-encoding': 'gzip, deflate',
      }),
    );
  const source = inflater ? req.pipe(inflater) : req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let wire = 0;
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      req.unpipe();
      inflater?.destroy();
      // Stop reading; the answer goes out and the connection closes after it.
      req.pause();
      reject(err);
    };
    if (inflater) {
      req.on('data', (c: Buffer) => {
        wire += c.length;
        if (wire > maxBytes) fail(tooLarge());
      });
      inflater.on('error', () => fail(invalid(`the request body is not valid ${encoding} data`)));
    }
    source.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (!hold.take(c.length)) return fail(busy());
      if (size > maxBytes) return fail(inflater ? new HttpError(413, `the request body inflates to more than ${maxBytes} bytes (${flag})`) : tooLarge());
      chunks.push(c);
    });
    source.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => fail(err));
    req.on('aborted', () => fail(new HttpError(400, 'the client closed the request before its body ended')));
  });
}
