import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DynamicBatcher, type Batch } from '../../../src/batching/dynamic-batcher.js';
import { LatencyTargetAdvisor } from '../../../src/batching/latency-target.js';
import { batchingPolicy, type DynamicBatchingFields } from '../../../src/batching/policy.js';
import { Code, type ServeError } from '../../../src/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const db: DynamicBatchingFields = { preferredBatchSize: [], maxQueueDelayMicroseconds: 0, preserveOrdering: false, priorityLevels: 0, defaultPriorityLevel: 0, defaultQueuePolicy: undefined, priorityQueuePolicy: {} };

/** A model whose batch of n rows takes fixed + perRow·n ms. */
function teach(a: LatencyTargetAdvisor, fixed: number, perRow: number): void {
  for (const n of [1, 2, 4, 8, 16]) a.executed(n, fixed + perRow * n);
}

test('before measuring anything it does not wait', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 50_000, safety: 0.6, maxBatchSize: 32 });
  assert.is(a.waitMs(1, 0), 0);
  assert.is(a.maxRows(), 32);
});

test('it learns execution time per batch size as a line', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 50_000, safety: 0.6, maxBatchSize: 32 });
  teach(a, 4, 0.5);
  assert.ok(Math.abs(a.exec(10)! - 9) < 1e-9);
});

test('the batch cap keeps one batch inside the budget', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 10_000, safety: 0.6, maxBatchSize: 64 });
  teach(a, 2, 0.5);
  assert.is(a.budgetMs, 6);
  assert.is(a.maxRows(), 8, '2 + 0.5·8 = 6 ms fits, 9 rows would not');
});

test('with a fixed cost worth sharing it waits for more rows, as long as the target allows', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 50_000, safety: 0.6, maxBatchSize: 32 });
  teach(a, 10, 0.2);
  for (let t = 0; t < 50; t++) a.arrived(1, t * 0.5); // two rows per ms
  const wait = a.waitMs(2, 0);
  assert.ok(wait > 0, `waits ${wait} ms`);
  const rows = Math.min(a.maxRows(), 2 + 2 * wait);
  assert.ok(wait + a.exec(rows)! <= a.budgetMs + 1e-6, 'the oldest request still finishes inside the budget');
  assert.ok(a.waitMs(2, 25) < wait, 'a request that already waited leaves less room');
  assert.is(a.waitMs(2, 40), 0, 'no room left: send now');
});

test('when bigger batches do not cost less per row it does not wait', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 50_000, safety: 0.6, maxBatchSize: 32 });
  teach(a, 0, 1);
  for (let t = 0; t < 50; t++) a.arrived(1, t);
  assert.is(a.waitMs(1, 0), 0);
});

test('it adapts: when execution gets slower the wait and the cap shrink', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 50_000, safety: 0.6, maxBatchSize: 32 });
  teach(a, 10, 0.2);
  for (let t = 0; t < 50; t++) a.arrived(1, t * 0.5);
  const before = { wait: a.waitMs(2, 0), cap: a.maxRows() };
  for (let k = 0; k < 64; k++) a.executed(1 + (k % 16), 20 + 1.2 * (1 + (k % 16)));
  assert.ok(a.waitMs(2, 0) < before.wait, 'waits less');
  assert.ok(a.maxRows() < before.cap, `cap ${before.cap} -> ${a.maxRows()}`);
});

test('the batcher follows the advisor: it holds a batch while the target allows, then sends it', () => {
  const clock = new FakeClock();
  const batches: Array<Batch<string>> = [];
  let free = 1;
  const b = new DynamicBatcher(batchingPolicy('m', 32, db, 50_000), clock, {
    hasRoom: () => free > 0,
    dispatch: (x) => {
      free--;
      batches.push(x);
    },
    reject: (_r, e: ServeError) => assert.unreachable(e.message),
  });
  for (const n of [1, 2, 4, 8, 16]) b.executed(n, 10 + 0.2 * n);
  for (let t = 0; t < 20; t++) {
    b.submit({ rows: 1, shapeKey: 'k', priority: 0, timeoutUs: 0, deadlineAtMs: undefined, payload: `warm${t}` });
    clock.advance(0.5);
    if (batches.length > 0 && free === 0) {
      free++;
      b.wake();
    }
  }
  const sentBefore = batches.length;
  b.submit({ rows: 1, shapeKey: 'k', priority: 0, timeoutUs: 0, deadlineAtMs: undefined, payload: 'x' });
  assert.is(batches.length, sentBefore, 'held: a bigger batch is worth waiting for');
  clock.advance(30);
  assert.is(batches.length, sentBefore + 1, 'sent once waiting longer would miss the budget');
  assert.ok(batches.at(-1)!.requests.some((r) => r.payload === 'x'));
});

test('latency_target_us needs dynamic batching', () => {
  assert.throws(() => batchingPolicy('m', 8, undefined, 1000), (e: ServeError) => e.code === Code.INVALID_ARGUMENT && /needs dynamic_batching/.test(e.message));
  assert.is(batchingPolicy('m', 8, db, 1000).latencyTargetUs, 1000);
});

test.run();
