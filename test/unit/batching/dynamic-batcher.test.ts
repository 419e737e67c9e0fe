import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DynamicBatcher, type Batch, type QueuedRequest, type SubmitOptions } from '../../../src/batching/dynamic-batcher.js';
import { InOrderGate } from '../../../src/batching/in-order.js';
import { batchingPolicy, unbatchedPolicy, type DynamicBatchingFields } from '../../../src/batching/policy.js';
import { Code, ServeError } from '../../../src/errors.js';
import { fields, qp } from '../../helpers/batching-fields.js';
import { FakeClock } from '../../helpers/fake-clock.js';

class Harness {
  readonly clock = new FakeClock();
  readonly batches: Array<Batch<string>> = [];
  readonly rejected: Array<[string, ServeError]> = [];
  readonly b: DynamicBatcher<string>;
  private free: number;
  constructor(maxBatchSize: number, f: DynamicBatchingFields | undefined, slots = 1) {
    this.free = slots;
    this.b = new DynamicBatcher(batchingPolicy('m', maxBatchSize, f), this.clock, {
      hasRoom: () => this.free > 0,
      dispatch: (batch) => {
        this.free--;
        this.batches.push(batch);
      },
      reject: (r, e) => this.rejected.push([r.payload, e]),
    });
  }
  /** A replica finished its batch. */
  finish(): void {
    this.free++;
    this.b.wake();
  }
  submit(payload: string, opts: Partial<SubmitOptions<string>> = {}): QueuedRequest<string> {
    return this.b.submit({ rows: 1, shapeKey: 'k', priority: 0, timeoutUs: 0, deadlineAtMs: undefined, payload, ...opts });
  }
  /** Payloads of each batch sent so far. */
  get sent(): string[][] {
    return this.batches.map((b) => b.requests.map((r) => r.payload));
  }
}

function serveError(fn: () => unknown): ServeError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ServeError);
    return err as ServeError;
  }
  assert.unreachable('expected a ServeError');
  throw new Error();
}

test('without dynamic_batching every request is its own batch, one per free replica, in arrival order', () => {
  const h = new Harness(8, undefined, 2);
  ['a', 'b', 'c', 'd'].forEach((p) => h.submit(p));
  assert.equal(h.sent, [['a'], ['b']]);
  h.finish();
  assert.equal(h.sent, [['a'], ['b'], ['c']]);
  h.finish();
  h.finish();
  assert.equal(h.sent, [['a'], ['b'], ['c'], ['d']]);
});

test('without dynamic_batching a request may still carry up to max_batch_size rows', () => {
  const h = new Harness(8, undefined);
  h.submit('eight', { rows: 8 });
  h.submit('two', { rows: 2 });
  h.finish();
  assert.equal(h.sent, [['eight'], ['two']]);
});

test('a model with max_batch_size 0 is never batched, even with dynamic_batching', () => {
  const h = new Harness(0, fields({ maxQueueDelayMicroseconds: 1000 }));
  h.submit('busy');
  h.submit('a');
  h.submit('b');
  h.finish();
  assert.equal(h.sent, [['busy'], ['a']]);
});

test('with no delay, requests that queued while the replica was busy go as one batch', () => {
  const h = new Harness(8, fields());
  h.submit('first');
  ['a', 'b', 'c'].forEach((p) => h.submit(p));
  assert.equal(h.sent, [['first']]);
  h.finish();
  assert.equal(h.sent, [['first'], ['a', 'b', 'c']]);
  assert.is(h.batches[1]!.rows, 3);
});

test('sends a max_batch_size batch at once, without waiting for the delay', () => {
  const h = new Harness(4, fields({ maxQueueDelayMicroseconds: 100_000 }));
  ['a', 'b', 'c'].forEach((p) => h.submit(p));
  assert.equal(h.sent, []);
  h.submit('d');
  assert.equal(h.sent, [['a', 'b', 'c', 'd']]);
});

test('waits up to max_queue_delay from the oldest request, then sends what it has', () => {
  const h = new Harness(8, fields({ maxQueueDelayMicroseconds: 5000 }));
  h.submit('a');
  h.clock.advance(3);
  h.submit('b');
  h.clock.advance(1.999);
  assert.equal(h.sent, []);
  h.clock.advance(0.001);
  assert.equal(h.sent, [['a', 'b']]);
  assert.is(h.clock.pending, 0);
});

test('sends a preferred batch size at once, choosing the largest one reached', () => {
  const h = new Harness(16, fields({ preferredBatchSize: [2, 4, 8], maxQueueDelayMicroseconds: 100_000 }));
  h.submit('a');
  assert.equal(h.sent, []);
  h.submit('b');
  assert.equal(h.sent, [['a', 'b']]);
  const busy = new Harness(16, fields({ preferredBatchSize: [2, 4], maxQueueDelayMicroseconds: 100_000 }));
  busy.submit('x', { rows: 2 });
  ['a', 'b', 'c', 'd', 'e'].forEach((p) => busy.submit(p));
  busy.finish();
  assert.equal(busy.sent, [['x'], ['a', 'b', 'c', 'd']], 'four of five queued rows form the largest preferred size');
});

test('counts rows, not requests', () => {
  const h = new Harness(8, fields({ maxQueueDelayMicroseconds: 10_000 }));
  h.submit('a', { rows: 3 });
  h.submit('b', { rows: 4 });
  assert.equal(h.sent, []);
  h.submit('c', { rows: 2 });
  h.clock.advance(10);
  assert.equal(h.sent, [['a', 'b']], 'c would overflow 8 rows');
  assert.is(h.batches[0]!.rows, 7);
  h.finish();
  h.clock.advance(10);
  assert.equal(h.sent, [['a', 'b'], ['c']]);
});

test('a request with more rows than max_batch_size is refused', () => {
  const h = new Harness(4, fields());
  const e = serveError(() => h.submit('big', { rows: 5 }));
  assert.is(e.code, Code.INVALID_ARGUMENT);
  assert.match(e.message, /batch of 5 rows exceeds max_batch_size 4/);
});

test('only requests whose non-batch shapes agree are batched together', () => {
  const h = new Harness(8, fields());
  h.submit('busy');
  h.submit('a1', { shapeKey: 'A' });
  h.submit('b1', { shapeKey: 'B' });
  h.submit('a2', { shapeKey: 'A' });
  h.submit('b2', { shapeKey: 'B' });
  h.finish();
  assert.equal(h.sent[1], ['a1', 'a2']);
  h.finish();
  assert.equal(h.sent[2], ['b1', 'b2']);
});

test('higher priority levels are served first, FIFO within a level; 0 and out of range take the default', () => {
  const h = new Harness(1, fields({ priorityLevels: 3, defaultPriorityLevel: 2 }));
  h.submit('busy', { priority: 1 });
  h.submit('low-1', { priority: 3 });
  h.submit('mid-default', { priority: 0 });
  h.submit('high-1', { priority: 1 });
  h.submit('mid-out-of-range', { priority: 9 });
  h.submit('high-2', { priority: 1 });
  for (let i = 0; i < 5; i++) h.finish();
  assert.equal(h.sent.flat(), ['busy', 'high-1', 'high-2', 'mid-default', 'mid-out-of-range', 'low-1']);
});

test('a full queue answers RESOURCE_EXHAUSTED at once, per priority level', () => {
  const h = new Harness(
    1,
    fields({ priorityLevels: 2, defaultPriorityLevel: 2, defaultQueuePolicy: qp({ maxQueueSize: 2 }), priorityQueuePolicy: { 1: qp({ maxQueueSize: 1 }) } }),
  );
  h.submit('busy');
  h.submit('a');
  h.submit('b');
  const e = serveError(() => h.submit('c'));
  assert.is(e.code, Code.RESOURCE_EXHAUSTED);
  assert.match(e.message, /queue of priority level 2 is full \(max_queue_size 2\)/);
  h.submit('h', { priority: 1 });
  assert.is(serveError(() => h.submit('h2', { priority: 1 })).code, Code.RESOURCE_EXHAUSTED);
});

test('a queue timeout with REJECT answers DEADLINE_EXCEEDED and the request never runs', () => {
  const h = new Harness(1, fields({ defaultQueuePolicy: qp({ defaultTimeoutMicroseconds: 2000 }) }));
  h.submit('busy');
  h.submit('late');
  h.clock.advance(2);
  assert.equal(
    h.rejected.map(([p, e]) => [p, e.code]),
    [['late', Code.DEADLINE_EXCEEDED]],
  );
  assert.match(h.rejected[0]![1].message, /timed out after 2000 µs in the queue/);
  h.finish();
  assert.equal(h.sent, [['busy']]);
});

test('a queue timeout with DELAY moves the request behind the others of its level', () => {
  const h = new Harness(1, fields({ defaultQueuePolicy: qp({ timeoutAction: 1, defaultTimeoutMicroseconds: 1000 }) }));
  h.submit('busy');
  h.submit('old');
  h.clock.advance(1);
  h.submit('new-1');
  h.submit('new-2');
  h.finish();
  h.finish();
  h.finish();
  assert.equal(h.sent.flat(), ['busy', 'new-1', 'new-2', 'old']);
  assert.equal(h.rejected, []);
});

test('a request may shorten its timeout when allow_timeout_override is set, never lengthen it', () => {
  const h = new Harness(1, fields({ defaultQueuePolicy: qp({ defaultTimeoutMicroseconds: 10_000, allowTimeoutOverride: true }) }));
  h.submit('busy');
  h.submit('short', { timeoutUs: 1000 });
  h.submit('long', { timeoutUs: 50_000 });
  h.clock.advance(1);
  assert.equal(
    h.rejected.map(([p]) => p),
    ['short'],
  );
  h.clock.advance(9);
  assert.equal(
    h.rejected.map(([p]) => p),
    ['short', 'long'],
  );
  const strict = new Harness(1, fields({ defaultQueuePolicy: qp({ defaultTimeoutMicroseconds: 10_000 }) }));
  strict.submit('busy');
  strict.submit('short', { timeoutUs: 1000 });
  strict.clock.advance(5);
  assert.equal(strict.rejected, [], 'without allow_timeout_override the request timeout is ignored');
});

test('a request whose deadline passes while queued is DEADLINE_EXCEEDED and never dispatched', () => {
  const h = new Harness(4, fields({ maxQueueDelayMicroseconds: 50_000 }));
  h.submit('a', { deadlineAtMs: 5 });
  h.submit('b');
  h.clock.advance(5);
  assert.equal(
    h.rejected.map(([p, e]) => [p, e.code]),
    [['a', Code.DEADLINE_EXCEEDED]],
  );
  h.clock.advance(45);
  assert.equal(h.sent, [['b']]);
});

test('deadlines are still watched after the request with the earliest one has left the queue', () => {
  const h = new Harness(1, fields());
  h.submit('busy');
  const a = h.submit('a', { deadlineAtMs: 10 });
  h.submit('b', { deadlineAtMs: 30 });
  h.submit('c', { deadlineAtMs: 20 });
  assert.is(h.b.cancel(a), true);
  h.clock.advance(19);
  assert.equal(h.rejected, []);
  h.clock.advance(1);
  assert.equal(
    h.rejected.map(([p]) => p),
    ['c'],
  );
  h.clock.advance(10);
  assert.equal(
    h.rejected.map(([p]) => p),
    ['c', 'b'],
  );
  assert.is(h.b.queuedRequests, 0);
  h.finish();
  assert.equal(h.sent, [['busy']]);
});

test('a request queued behind an expired one keeps its own deadline', () => {
  const h = new Harness(1, fields());
  h.submit('busy');
  h.submit('a', { deadlineAtMs: 5 });
  h.clock.advance(5);
  h.submit('b', { deadlineAtMs: 12 });
  h.clock.advance(6);
  assert.equal(
    h.rejected.map(([p]) => p),
    ['a'],
  );
  h.clock.advance(1);
  assert.equal(
    h.rejected.map(([p]) => p),
    ['a', 'b'],
  );
});

test('a cancelled request leaves the queue; cancelling a dispatched one does nothing', () => {
  const h = new Harness(8, fields());
  const busy = h.submit('busy');
  const a = h.submit('a');
  h.submit('b');
  assert.is(h.b.cancel(a), true);
  assert.is(h.b.cancel(busy), false);
  h.finish();
  assert.equal(h.sent, [['busy'], ['b']]);
  assert.is(h.b.queuedRequests, 0);
});

test('rejectAll() empties the queue with the given error', () => {
  const h = new Harness(1, fields({ maxQueueDelayMicroseconds: 1000 }));
  h.submit('busy');
  h.submit('a');
  h.b.rejectAll(new ServeError(Code.UNAVAILABLE, 'every replica is out of rotation'));
  assert.equal(
    h.rejected.map(([p, e]) => [p, e.code]),
    [['a', Code.UNAVAILABLE]],
  );
  assert.is(h.clock.pending, 0);
  h.finish();
  assert.equal(h.sent, [['busy']]);
});

test('stopAccepting() refuses new requests but serves the queued ones without waiting', () => {
  const h = new Harness(8, fields({ maxQueueDelayMicroseconds: 100_000 }));
  h.submit('a');
  h.submit('b');
  assert.equal(h.sent, []);
  h.b.stopAccepting("model 'm' version 1 is unloading");
  assert.equal(h.sent, [['a', 'b']], 'no batching delay while draining');
  const e = serveError(() => h.submit('late'));
  assert.is(e.code, Code.UNAVAILABLE);
  assert.is(e.message, "model 'm' version 1 is unloading");
  assert.equal(h.rejected, []);
});

test('close() rejects what is queued with UNAVAILABLE and refuses new requests', () => {
  const h = new Harness(1, fields());
  h.submit('busy');
  h.submit('a');
  h.b.close('model unloading');
  assert.equal(
    h.rejected.map(([p, e]) => [p, e.code, e.message]),
    [['a', Code.UNAVAILABLE, 'model unloading']],
  );
  assert.is(serveError(() => h.submit('b')).code, Code.UNAVAILABLE);
});

test('preserve_ordering releases outcomes in arrival order', () => {
  const gate = new InOrderGate(true);
  const out: string[] = [];
  const t = ['a', 'b', 'c'].map(() => gate.take());
  gate.leave(t[2]!, () => out.push('c'));
  gate.leave(t[1]!, () => out.push('b'));
  assert.equal(out, []);
  assert.is(gate.waiting, 2);
  gate.leave(t[0]!, () => out.push('a'));
  assert.equal(out, ['a', 'b', 'c']);
  const free = new InOrderGate(false);
  const u = [free.take(), free.take()];
  free.leave(u[1]!, () => out.push('2'));
  assert.equal(out.at(-1), '2');
});

test('policy validation follows Triton and names the model and field', () => {
  const msg = (max: number, f: Partial<DynamicBatchingFields>) => {
    try {
      batchingPolicy('m', max, fields(f));
    } catch (err) {
      assert.is((err as ServeError).code, Code.INVALID_ARGUMENT);
      return (err as Error).message;
    }
    return '';
  };
  assert.is(msg(8, { preferredBatchSize: [16] }), "model 'm': dynamic_batching.preferred_batch_size 16 exceeds max_batch_size 8");
  assert.match(msg(8, { preferredBatchSize: [0] }), /preferred_batch_size 0 must be at least 1/);
  assert.match(msg(0, { preferredBatchSize: [1] }), /max_batch_size is 0 so the model does not batch/);
  assert.match(msg(8, { priorityLevels: 2, defaultPriorityLevel: 3 }), /default_priority_level 3 must be in 1\.\.2/);
  assert.match(msg(8, { priorityLevels: 2, defaultPriorityLevel: 0 }), /default_priority_level 0 must be in 1\.\.2/);
  assert.match(msg(8, { defaultPriorityLevel: 1 }), /default_priority_level 1 is set, but priority_levels is 0/);
  assert.match(msg(8, { priorityLevels: 2, defaultPriorityLevel: 1, priorityQueuePolicy: { 3: qp() } }), /priority_queue_policy key 3 must be in 1\.\.2/);
  assert.is(msg(8, { preferredBatchSize: [4, 2, 4], priorityLevels: 2, defaultPriorityLevel: 1 }), '');
  assert.equal(batchingPolicy('m', 8, fields({ preferredBatchSize: [4, 2, 4] })).preferredBatchSizes, [2, 4]);
  assert.is(unbatchedPolicy(0).maxBatchSize, 1);
  assert.is(unbatchedPolicy(8).maxBatchSize, 8);
});

test.run();
