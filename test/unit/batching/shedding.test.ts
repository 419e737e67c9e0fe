// Overload shedding (--max-queue-wait): a request is refused at arrival while a request it
// would queue behind has waited past the limit. Fake clock, no replicas: a test decides
// when the one slot frees.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DynamicBatcher, type Batch, type SubmitOptions } from '../../../src/batching/dynamic-batcher.js';
import { batchingPolicy, type DynamicBatchingFields } from '../../../src/batching/policy.js';
import { Code, ServeError } from '../../../src/errors.js';
import { planLoad } from '../../../src/repository/load-plan.js';
import { fields, qp } from '../../helpers/batching-fields.js';
import { FakeClock } from '../../helpers/fake-clock.js';

function harness(f: DynamicBatchingFields | undefined, maxQueueWaitMs: number, maxBatchSize = 4, slots = 1, deadlineMarginMs = 0) {
  const clock = new FakeClock();
  const batches: Batch<string>[] = [];
  let free = slots;
  const rejected: string[] = [];
  const b = new DynamicBatcher<string>(
    batchingPolicy('m', maxBatchSize, f, { maxQueueWaitMs }),
    clock,
    {
      hasRoom: () => free > 0,
      dispatch: (batch) => {
        free--;
        batches.push(batch);
      },
      reject: (r, e) => rejected.push(`${r.payload}: ${e.message}`),
    },
    deadlineMarginMs,
  );
  // What the core does: admit at arrival, then (after any wait at the frontend) submit.
  const submit = (payload: string, opts: Partial<SubmitOptions<string>> = {}) => {
    b.admit(opts.priority ?? 0, 0, opts.deadlineAtMs);
    return b.submit({ rows: 1, shapeKey: 'k', priority: 0, timeoutUs: 0, deadlineAtMs: undefined, payload, ...opts });
  };
  const finish = () => {
    free++;
    b.wake();
  };
  return { clock, batches, b, submit, finish, rejected };
}

function refusal(fn: () => unknown): ServeError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ServeError);
    return err as ServeError;
  }
  throw new Error('expected a refusal');
}

test('a request is refused with RESOURCE_EXHAUSTED while the head of the queue has waited past the limit', () => {
  const h = harness(fields(), 100);
  h.submit('running'); // takes the only slot
  h.submit('a');
  h.clock.advance(100);
  h.submit('b'); // the head waited exactly the limit: still admitted
  h.clock.advance(1);
  const e = refusal(() => h.submit('c'));
  assert.is(e.code, Code.RESOURCE_EXHAUSTED);
  assert.match(
    e.message,
    /^overloaded: 2 request row\(s\) queued ahead, expected wait \d+ ms, the oldest waiting 101 ms; past the 100 ms allowed \(--max-queue-wait/,
  );
  assert.is(h.b.queuedRequests, 2, 'the refused request is not queued');
});

test('admission resumes as soon as the old requests leave the queue', () => {
  const h = harness(fields(), 100, 1);
  h.submit('running');
  h.submit('a');
  h.clock.advance(150);
  refusal(() => h.submit('b'));
  h.finish(); // 'a' goes: the queue is empty
  h.submit('c');
  assert.is(h.b.queuedRequests, 1);
});

test('the wait counts from arrival at the server, so time spent waiting at the frontend counts too', () => {
  const h = harness(fields(), 100);
  h.submit('running');
  h.clock.advance(1000);
  h.submit('late', { arrivedAtMs: 920 }); // waited 80 ms at the frontend before it queued
  h.clock.advance(21);
  assert.is(refusal(() => h.submit('c')).code, Code.RESOURCE_EXHAUSTED);
});

test('a request let in at arrival is queued even if the queue aged while it waited at the frontend', () => {
  const h = harness(fields(), 100);
  h.submit('running');
  h.submit('a');
  h.b.admit(0); // 'b' arrives: the head is young
  h.clock.advance(500); // 'b' waits at the frontend meanwhile
  h.b.submit({ rows: 1, shapeKey: 'k', priority: 0, timeoutUs: 0, deadlineAtMs: undefined, arrivedAtMs: 0, payload: 'b' });
  assert.is(h.b.queuedRequests, 2);
});

test('under sustained overload the expected wait refuses before the head has waited the limit', () => {
  // One replica, 10 ms per batch of up to 4 rows (0.4 rows/ms); 8 rows arrive per 10 ms.
  const h = harness(fields(), 100, 4);
  const admittedWaits: number[] = [];
  const enqueued = new Map<string, number>();
  let refusedAtHeadAge: number | undefined;
  let n = 0;
  for (let t = 0; t < 400; t += 10) {
    for (let i = 0; i < 8; i++) {
      const id = `r${n++}`;
      try {
        h.submit(id);
        enqueued.set(id, h.clock.now());
      } catch (err) {
        const m = /the oldest waiting (\d+) ms/.exec((err as Error).message);
        refusedAtHeadAge ??= Number(m?.[1]);
      }
    }
    h.clock.advance(10);
    const before = h.batches.length;
    h.finish();
    for (const b of h.batches.slice(before)) for (const r of b.requests) admittedWaits.push(h.clock.now() - enqueued.get(r.payload)!);
  }
  assert.ok(refusedAtHeadAge !== undefined, 'requests were refused');
  assert.ok(refusedAtHeadAge! < 100, `refusals began when the head had waited ${refusedAtHeadAge} ms`);
  const worst = Math.max(...admittedWaits);
  assert.ok(worst <= 130, `an admitted request waited ${worst} ms (limit 100 ms)`);
});

/** Refused now, or admitted: what one more request gets. */
const admits = (h: ReturnType<typeof harness>, payload: string): boolean => {
  try {
    h.submit(payload);
    return true;
  } catch {
    return false;
  }
};

/** Saturates one slot (10 ms per batch of 4), for 4 measured gaps: the pace is 2.5 ms per row. */
function saturate(h: ReturnType<typeof harness>): void {
  h.submit('running');
  for (let i = 0; i < 20; i++) h.submit(`s${i}`);
  for (let i = 0; i < 5; i++) {
    h.clock.advance(10);
    h.finish();
  }
}

test('an idle gap is not taken for the pace: after a cancelled backlog and an hour idle, arrivals are admitted', () => {
  const h = harness(fields(), 100, 4);
  h.submit('running');
  const queued = ['a', 'b', 'c', 'd', 'e'].map((p) => h.submit(p));
  h.finish(); // a..d go, e stays
  h.b.cancel(queued[4]!); // the backlog is gone
  h.clock.advance(3_600_000);
  h.submit('x'); // the slot is busy (a..d): x and y queue
  h.submit('y');
  h.finish(); // x and y go because the slot came free: measured only if a backlog had lasted
  h.submit('p');
  assert.ok(admits(h, 'z'), 'one row ahead cannot be an hour of work');
});

test('batches sent after a batching delay do not measure the replicas', () => {
  // Two slots, max_queue_delay 100 ms, 4 rows a batch: X (3 rows) waits for the delay, Y
  // (2 rows, 50 ms later) does not fit with it and waits for its own, with a slot free.
  // The gap between them measures the delay, not the replicas.
  const h = harness(fields({ maxQueueDelayMicroseconds: 100_000 }), 100, 4, 2);
  h.submit('X', { rows: 3 });
  h.clock.advance(50);
  h.submit('Y', { rows: 2 });
  h.clock.advance(100); // X went at 100 with Y left, Y at 150: both slots busy now
  assert.is(h.batches.length, 2);
  for (const p of ['j', 'k', 'l', 'm', 'n', 'o']) assert.ok(admits(h, p), `${p} admitted: nothing measured says the queue is slow`);
});

test('the measured pace refuses a backlog of more than the limit, and is forgotten 10 s after the load ends', () => {
  const h = harness(fields(), 100, 4);
  saturate(h); // 2.5 ms per row
  let admitted = 0;
  while (admitted < 1000 && admits(h, `q${admitted}`)) admitted++;
  assert.ok(admitted >= 30 && admitted <= 45, `${admitted} admitted into a queue of 100 ms at 2.5 ms per row`);
  // The backlog drains; 10 s later the old pace says nothing.
  for (let i = 0; i < 20; i++) {
    h.clock.advance(10);
    h.finish();
  }
  h.clock.advance(10_001);
  h.finish();
  h.submit('busy');
  for (let i = 0; i < 60; i++) assert.ok(admits(h, `late${i}`), `request ${i} admitted with no recent pace`);
});

test('one stalled batch does not move the pace: it is the median of the last batches', () => {
  const h = harness(fields(), 100, 4);
  saturate(h); // 2.5 ms per row
  h.submit('hold'); // takes the free slot
  for (const p of ['t1', 't2', 't3', 't4', 't5']) h.submit(p);
  h.clock.advance(10);
  h.finish(); // t1..t4 go, t5 waits: a backlog
  h.clock.advance(5000); // the replica stalls 5 s
  h.finish(); // t5 goes: the 5 s gap counts at most 4 x the pace so far
  h.submit('x'); // queues: one row ahead
  assert.ok(admits(h, 'after'), 'one row ahead did not become 5 s of work');
});

test('while a version drains, a request admitted before the drain is still queued; a new one is refused', () => {
  const h = harness(fields(), 100);
  h.submit('running');
  h.b.stopAccepting('draining for the test');
  assert.is(h.b.draining, 'draining for the test');
  assert.is(refusal(() => h.b.submit({ rows: 1, shapeKey: 'k', priority: 0, timeoutUs: 0, deadlineAtMs: undefined, payload: 'new' })).code, Code.UNAVAILABLE);
  h.b.submit({ rows: 1, shapeKey: 'k', priority: 0, timeoutUs: 0, deadlineAtMs: undefined, admitted: true, payload: 'waited at the gate' });
  h.finish();
  assert.equal(
    h.batches.at(-1)?.requests.map((r) => r.payload),
    ['waited at the gate'],
  );
});

test('a stall past the pace memory is not taken for the pace when the replicas come back', () => {
  const h = harness(fields(), 100, 4);
  saturate(h);
  h.submit('hold');
  for (const p of ['t1', 't2', 't3', 't4', 't5']) h.submit(p);
  h.clock.advance(10);
  h.finish(); // t1..t4 go, t5 waits
  h.clock.advance(11_000); // longer than the pace is remembered
  h.finish(); // t5 goes: the first gap after forgetting is one sample, not yet a pace
  h.submit('x');
  assert.ok(admits(h, 'after'), 'one row ahead did not become 11 s of work');
});

test('a model slower than the limit does not shed a light load: the batch in flight is allowed for', () => {
  const h = harness(fields(), 500, 8);
  const first = h.submit('first');
  h.clock.advance(600);
  h.b.executed(h.batches[0]!, 600); // batches take 600 ms
  void first;
  h.finish();
  h.submit('running');
  h.submit('b'); // waits for the 600 ms batch ahead
  h.clock.advance(550);
  assert.ok(admits(h, 'c'), 'c goes in the same batch as b, 600 ms at most: not overload');
  h.clock.advance(600);
  assert.not.ok(admits(h, 'd'), 'b has now waited two batches: that is a backlog');
});

test('a request with no rows (no inputs) still counts as one row ahead', () => {
  const h = harness(fields(), 100);
  h.submit('running');
  h.submit('empty', { rows: 0 });
  h.clock.advance(101);
  const e = refusal(() => h.submit('next'));
  assert.match(e.message, /^overloaded: 1 request row\(s\) queued ahead/);
});

test('a queued request is answered its deadline margin before the deadline, so its client need not cancel', () => {
  const h = harness(fields(), 0, 4, 1, 10);
  h.submit('running');
  h.submit('late', { deadlineAtMs: 100 });
  h.clock.advance(89);
  assert.equal(h.rejected, []);
  h.clock.advance(1);
  assert.equal(h.rejected.length, 1);
  assert.match(h.rejected[0]!, /^late: deadline 10 ms away after 90000 µs in the queue, still waiting: not executed/);
});

test('a request with less than the margin left still goes if a replica is free', () => {
  const h = harness(fields(), 0, 4, 1, 10);
  h.submit('soon', { deadlineAtMs: 5 });
  assert.equal(h.rejected, []);
  assert.equal(
    h.batches.map((b) => b.requests.map((r) => r.payload)),
    [['soon']],
  );
});

test('a request whose deadline comes before the expected wait is refused at arrival, whoever sends it', () => {
  const h = harness(fields(), 100, 4);
  saturate(h); // 2.5 ms per row
  h.submit('hold');
  for (let i = 0; i < 12; i++) h.submit(`w${i}`); // with 'hold', 13 rows ahead: 32.5 ms expected
  const e = refusal(() => h.submit('short', { deadlineAtMs: h.clock.now() + 20 }));
  assert.is(e.code, Code.DEADLINE_EXCEEDED);
  assert.match(e.message, /^its deadline \(20 ms left\) comes before the expected wait in the queue \(33 ms, 13 request row\(s\) ahead\); not queued$/);
  h.submit('long', { deadlineAtMs: h.clock.now() + 40 }); // 40 ms is enough
});

test('0 turns shedding off: the queue grows however long its head has waited', () => {
  const h = harness(fields(), 0);
  h.submit('running');
  h.submit('a');
  h.clock.advance(3_600_000);
  h.submit('b');
  assert.is(h.b.queuedRequests, 2);
});

test('models without dynamic_batching shed too', () => {
  const h = harness(undefined, 50, 0);
  h.submit('running');
  h.submit('a');
  h.clock.advance(51);
  assert.is(refusal(() => h.submit('b')).code, Code.RESOURCE_EXHAUSTED);
});

test('the batching delay is not counted as overload', () => {
  // max_queue_delay 200 ms: a request waiting for its batch to fill is not a backlog.
  const h = harness(fields({ maxQueueDelayMicroseconds: 200_000 }), 100);
  h.submit('a');
  h.clock.advance(150);
  h.submit('b');
  h.clock.advance(49);
  h.submit('c'); // 'a' has waited 199 ms, all of it its batching delay
  assert.equal(h.batches.length, 0);
});

test('a request is measured against the levels served before it, not those after', () => {
  const h = harness(fields({ priorityLevels: 2, defaultPriorityLevel: 2 }), 100);
  h.submit('running', { priority: 1 });
  h.submit('low', { priority: 2 });
  h.clock.advance(500);
  assert.is(refusal(() => h.submit('low2', { priority: 2 })).code, Code.RESOURCE_EXHAUSTED);
  h.submit('high', { priority: 1 }); // the old request is behind it: admitted
  h.clock.advance(101);
  assert.is(refusal(() => h.submit('high2', { priority: 1 })).code, Code.RESOURCE_EXHAUSTED);
});

test('requests demoted by a DELAY queue timeout do not make the queue look overloaded', () => {
  // DELAY serves requests past the 10 ms timeout after the others: new arrivals go first,
  // so the demoted ones, however old, say nothing about how long a new one waits.
  const delay = qp({ timeoutAction: 1, defaultTimeoutMicroseconds: 10_000 });
  const h = harness(fields({ defaultQueuePolicy: delay }), 100);
  h.submit('running');
  h.submit('slow');
  h.clock.advance(500);
  h.submit('a');
  h.clock.advance(500);
  h.submit('b');
  assert.is(h.b.queuedRequests, 3);
});

test('max_queue_size still applies to a queue whose head is young', () => {
  const h = harness(fields({ defaultQueuePolicy: qp({ maxQueueSize: 1 }) }), 100);
  h.submit('running');
  h.submit('a');
  assert.match(refusal(() => h.submit('b')).message, /max_queue_size 1/);
  h.clock.advance(200);
  assert.match(refusal(() => h.submit('c')).message, /^overloaded/, 'an old head refuses at arrival, before the queue is looked at');
});

test('a negative or non-finite limit is refused when the policy is built', () => {
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => batchingPolicy('m', 4, fields(), { maxQueueWaitMs: bad }), /queue wait limit/);
  }
});

const plan = (params: string, serverMs = 500) =>
  planLoad('m', `max_batch_size: 4\ndynamic_batching { }\n${params}`, undefined, { autoComplete: true, maxQueueWaitMs: serverMs }).policy;
const waitParam = (v: string) => `parameters { key: "max_queue_wait_us" value { string_value: "${v}" } }`;

test("the server's --max-queue-wait applies unless the model's parameter max_queue_wait_us says otherwise", () => {
  assert.is(plan('').maxQueueWaitMs, 500);
  assert.is(plan('', 0).maxQueueWaitMs, 0);
  assert.is(plan(waitParam('250000')).maxQueueWaitMs, 250);
  assert.is(plan(waitParam('0')).maxQueueWaitMs, 0);
  assert.is(planLoad('m', 'max_batch_size: 0\n', undefined, { autoComplete: true, maxQueueWaitMs: 70 }).policy.maxQueueWaitMs, 70);
  // A latency target is the wait the model can take, unless the server turned shedding off.
  const target = 'parameters { key: "latency_target_us" value { string_value: "80000" } }';
  assert.is(plan(target).maxQueueWaitMs, 80);
  assert.is(plan(target, 0).maxQueueWaitMs, 0);
  assert.is(plan(`${target}\n${waitParam('300000')}`).maxQueueWaitMs, 300);
});

test('a malformed max_queue_wait_us fails the load with a message naming it', () => {
  for (const bad of ['-5', '1.5', '1e6', ' 100', '9999999999999', '3600000001', 'abc']) {
    assert.throws(() => plan(waitParam(bad)), /parameters\["max_queue_wait_us"\] must be a whole number of microseconds/, bad);
  }
});

test.run();
