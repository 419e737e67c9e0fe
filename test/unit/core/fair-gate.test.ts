import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, ServeError } from '../../../src/errors.js';
import { FairGate } from '../../../src/core/fair-gate.js';
import { CallCancellation } from '../../../src/core/cancellation.js';

/** Lets pending promise callbacks run. */
const settle = () => new Promise((r) => setImmediate(r));

test('requests under the limit go through at once', async () => {
  const g = new FairGate(2);
  await g.acquire('a');
  await g.acquire('b');
  assert.is(g.running, 2);
  assert.is(g.queued, 0);
});

test('past the limit, waiting requests are let through one source at a time, round-robin', async () => {
  const g = new FairGate(1);
  await g.acquire('flood');
  const order: string[] = [];
  const wait = (source: string, tag: string) => g.acquire(source).then(() => order.push(tag));
  const all = [wait('flood', 'f1'), wait('flood', 'f2'), wait('flood', 'f3'), wait('good', 'g1'), wait('flood', 'f4'), wait('good', 'g2')];
  for (let i = 0; i < 6; i++) {
    g.release();
    await settle();
  }
  await Promise.all(all);
  assert.equal(order, ['f1', 'g1', 'f2', 'g2', 'f3', 'f4']);
  assert.is(g.running, 1);
  assert.is(g.queued, 0);
});

test('a request cancelled while waiting leaves the queue with CANCELLED and takes no slot', async () => {
  const g = new FairGate(1);
  await g.acquire('a');
  const cancel = new CallCancellation();
  const waiting = g.acquire('b', cancel);
  const next = g.acquire('c');
  cancel.fire();
  const err = await waiting.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, ServeError);
  assert.is((err as ServeError).code, Code.CANCELLED);
  assert.is(g.queued, 1);
  g.release();
  await next;
  assert.is(g.running, 1);
  assert.is(g.queued, 0);
});

test('a cancel after the request went through changes nothing', async () => {
  const g = new FairGate(1);
  await g.acquire('a');
  const cancel = new CallCancellation();
  const waiting = g.acquire('b', cancel);
  g.release();
  await waiting;
  cancel.fire();
  assert.is(g.running, 1);
  assert.is(g.queued, 0);
});

test('a source whose waiters were all cancelled is skipped and may come back later', async () => {
  const g = new FairGate(1);
  await g.acquire('x');
  const c = new CallCancellation();
  const gone = g.acquire('b', c).catch(() => 'cancelled');
  c.fire();
  assert.is(await gone, 'cancelled');
  const order: string[] = [];
  const p1 = g.acquire('a').then(() => order.push('a'));
  const p2 = g.acquire('b').then(() => order.push('b'));
  g.release();
  await settle();
  g.release();
  await Promise.all([p1, p2]);
  assert.equal(order, ['a', 'b']);
});

test('the ring does not grow with the number of requests served', async () => {
  const g = new FairGate(1);
  await g.acquire('s0');
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < 20_000; i++) pending.push(g.acquire(`s${i % 3}`));
  for (let i = 0; i < 20_000; i++) g.release();
  await Promise.all(pending);
  const ring = (g as unknown as { ring: string[] }).ring;
  assert.ok(ring.length < 2100, `ring holds ${ring.length} entries`);
});

test.run();
