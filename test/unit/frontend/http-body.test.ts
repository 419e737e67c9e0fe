// Request bodies bounded while they stream: the per-request limit, the inflate limit, and
// the budget over all requests, on a stand-in for the request stream.

import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BodyBudget, type HttpError, readBody } from '../../../src/frontend/http/body.js';

function request(headers: Record<string, string> = {}): PassThrough & { headers: Record<string, string> } {
  return Object.assign(new PassThrough(), { headers });
}
const asReq = (r: PassThrough): IncomingMessage => r as unknown as IncomingMessage;
const failure = (p: Promise<unknown>): Promise<HttpError> =>
  p.then(
    () => assert.unreachable('expected a refusal') as never,
    (e: HttpError) => e,
  );

test('a body within the limit is returned whole, chunk after chunk', async () => {
  const budget = new BodyBudget(1 << 20);
  const r = request();
  const p = readBody(asReq(r), 100, '--flag', budget.hold());
  r.write('hello ');
  r.end('world');
  assert.is((await p).toString(), 'hello world');
});

test('a declared Content-Length over the limit is refused before a byte is read', async () => {
  const e = await failure(readBody(asReq(request({ 'content-length': '101' })), 100, '--flag', new BodyBudget(1 << 20).hold()));
  assert.is(e.status, 413);
  assert.match(e.message, /larger than 100 bytes \(--flag\)/);
});

test('a chunked body is refused the moment it passes the limit', async () => {
  const r = request();
  const p = readBody(asReq(r), 10, '--flag', new BodyBudget(1 << 20).hold());
  r.write(Buffer.alloc(8));
  r.write(Buffer.alloc(8));
  assert.is((await failure(p)).status, 413);
});

test('a gzip bomb is refused on what it inflates to', async () => {
  const r = request({ 'content-encoding': 'gzip' });
  const p = readBody(asReq(r), 1000, '--flag', new BodyBudget(1 << 20).hold());
  r.end(gzipSync(Buffer.alloc(100_000)));
  const e = await failure(p);
  assert.is(e.status, 413);
  assert.match(e.message, /inflates to more than 1000 bytes/);
});

test('the budget over all requests: a second body that does not fit is 503; released bytes are free again', async () => {
  const budget = new BodyBudget(1000);
  const a = request();
  const holdA = budget.hold();
  const pa = readBody(asReq(a), 10_000, '--flag', holdA);
  a.write(Buffer.alloc(800));
  a.end();
  await pa;
  assert.is(budget.inUse, 800, 'a finished body stays held until its answer is sent');
  const b = request();
  const pb = readBody(asReq(b), 10_000, '--flag', budget.hold());
  b.write(Buffer.alloc(300));
  const e = await failure(pb);
  assert.is(e.status, 503);
  assert.is(e.headers['retry-after'], '1');
  holdA.release();
  assert.is(budget.inUse, 0);
  const c = request();
  const pc = readBody(asReq(c), 10_000, '--flag', budget.hold());
  c.end(Buffer.alloc(900));
  assert.is((await pc).length, 900);
});

test('an unknown Content-Encoding is 501 with the encodings accepted', async () => {
  const e = await failure(readBody(asReq(request({ 'content-encoding': 'br' })), 100, '--flag', new BodyBudget(1000).hold()));
  assert.is(e.status, 501);
  assert.is(e.headers['accept-encoding'], 'gzip, deflate');
});

test.run();
