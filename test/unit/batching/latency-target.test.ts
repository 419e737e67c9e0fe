import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DynamicBatcher, type Batch } from '../../../src/batching/dynamic-batcher.js';
import { LatencyTargetAdvisor } from '../../../src/batching/latency-target.js';
import { batchingPolicy } from '../../../src/batching/policy.js';
import { Code, type ServeError } from '../../../src/errors.js';
import { fields } from '../../helpers/batching-fields.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const db = fields();

/** A model whose batch of n rows takes fixed + perRow·n ms. */
function teach(a: LatencyTargetAdvisor, fixed: number, perRow: number): void {
  for (const n of [1, 2, 4, 8, 16]) a.executed(n, fixed + perRow * n);
}

test('before measuring anything it does not wait', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 100_000, safety: 0.6, maxBatchSize: 32 });
  assert.is(a.waitMs(1, 0), 0);
  assert.is(a.maxRows(), 32);
});

test('bursty arrivals do not inflate the rate: it is the inverse of the mean gap', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 100_000, safety: 0.6, maxBatchSize: 32 });
  teach(a, 10, 0.2);
  // Pairs 0.01 ms apart every 20 ms: 0.1 rows per ms on average.
  for (let k = 0; k < 200; k++) {
    a.arrived(1, k * 20);
    a.arrived(1, k * 20 + 0.01);
  }
  // 0.1 rows/ms needs 2-row batches (see below): one more row is 10 ms away, not 0.
  const wait = a.waitMs(1, 0);
  assert.ok(wait > 5 && wait < 20, `waits ${wait} ms`);
});

test('it learns execution time per batch size as a line', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 100_000, safety: 0.6, maxBatchSize: 32 });
  teach(a, 4, 0.5);
  assert.ok(Math.abs(a.exec(10)! - 9) < 1e-9);
});

test('the batch cap keeps one batch inside the budget', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 20_000, safety: 0.6, maxBatchSize: 64 });
  teach(a, 2, 0.5);
  assert.is(a.budgetMs, 6, 'half of 60 % of 20 ms: a request may wait through one cycle and run in the next');
  assert.is(a.maxRows(), 8, '2 + 0.5·8 = 6 ms fits, 9 rows would not');
});

test('under light load it does not wait', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 100_000, safety: 0.6, maxBatchSize: 32 });
  teach(a, 10, 0.2);
  for (let t = 0; t < 50; t++) a.arrived(1, t * 100); // 0.01 rows per ms: one batch of 1 every 10.2 ms keeps up
  assert.is(a.waitMs(1, 0), 0);
});

test('under heavier load it waits for a batch big enough to keep up, inside the target', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 100_000, safety: 0.6, maxBatchSize: 32 });
  teach(a, 10, 0.2);
  for (let t = 0; t < 50; t++) a.arrived(1, t * 10); // 0.1 rows per ms
  // Keeping up needs n >= 0.1·10 / (0.75 − 0.1·0.2) ≈ 1.37, so 2 rows: wait for one more.
  const wait = a.waitMs(1, 0);
  assert.ok(Math.abs(wait - 10) < 1e-6, `waits ${wait} ms for the second row`);
  assert.is(a.waitMs(2, 0), 0, 'two rows are enough');
  assert.ok(a.waitMs(1, 25) < wait, 'a request that already waited leaves less room');
});

test('waits never push a cycle past its half of the budget', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 100_000, safety: 0.6, maxBatchSize: 32 });
  teach(a, 10, 0.2);
  for (let t = 0; t < 50; t++) a.arrived(1, t * 2); // 0.5 rows per ms: needs big batches
  const wait = a.waitMs(1, 0);
  const rows = Math.min(a.maxRows(), 1 + 0.5 * wait);
  assert.ok(wait + a.exec(rows)! <= a.budgetMs + 1e-6, `cycle ${wait + a.exec(rows)!} ms within ${a.budgetMs}`);
  assert.is(a.waitMs(1, 30), 0, 'no room left: send now');
});

test('when bigger batches do not cost less per row it does not wait', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 100_000, safety: 0.6, maxBatchSize: 32 });
  teach(a, 0, 1);
  for (let t = 0; t < 50; t++) a.arrived(1, t * 2);
  assert.is(a.waitMs(1, 0), 0);
});

test('it adapts: when execution gets slower the cap shrinks and the wait is recomputed inside the budget', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 100_000, safety: 0.6, maxBatchSize: 32 });
  teach(a, 10, 0.2);
  for (let t = 0; t < 50; t++) a.arrived(1, t * 10);
  const before = { wait: a.waitMs(1, 0), cap: a.maxRows() };
  for (let k = 0; k < 64; k++) a.executed(1 + (k % 16), 20 + 1.2 * (1 + (k % 16)));
  assert.ok(a.maxRows() < before.cap, `cap ${before.cap} -> ${a.maxRows()}`);
  const wait = a.waitMs(1, 0);
  assert.not.equal(wait, before.wait);
  assert.ok(wait + a.exec(Math.min(a.maxRows(), 1 + 0.1 * wait))! <= a.budgetMs + 1e-6, 'still inside the budget');
});

test('the batcher follows the advisor: it holds a batch while the target allows, then sends it', () => {
  const clock = new FakeClock();
  const batches: Array<Batch<string>> = [];
  let free = 1;
  const b = new DynamicBatcher<string>(batchingPolicy('m', 32, db, { latencyTargetUs: 120_000 }), clock, {
    hasRoom: () => free > 0,
    dispatch: (x) => {
      free--;
      batches.push(x);
    },
    reject: (_r, e: ServeError) => assert.unreachable(e.message),
  });
  for (const n of [1, 2, 4, 8, 16]) b.executed({ requests: [], rows: n, formedAtMs: 0 }, 10 + 0.2 * n);
  // Arrivals every 5 ms: keeping up needs batches of ceil(0.2·10 / (0.75 − 0.04)) = 3 rows.
  for (let t = 0; t < 20; t++) {
    b.submit({ rows: 1, shapeKey: 'k', priority: 0, timeoutUs: 0, deadlineAtMs: undefined, payload: `warm${t}` });
    clock.advance(5);
    if (batches.length > 0 && free === 0) {
      free++;
      b.wake();
    }
  }
  const sentBefore = batches.length;
  b.submit({ rows: 1, shapeKey: 'k', priority: 0, timeoutUs: 0, deadlineAtMs: undefined, payload: 'x' });
  assert.is(batches.length, sentBefore, 'held: a bigger batch is worth waiting for');
  clock.advance(50);
  assert.is(batches.length, sentBefore + 1, 'with no more arrivals it is sent before waiting longer would miss the budget');
  assert.ok(batches.at(-1)!.requests.some((r) => r.payload === 'x'));
});

test('the wait floor is tuned online: it moves to the floor whose requests see the lowest p95', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 100_000, safety: 0.8, maxBatchSize: 32 });
  teach(a, 10, 0.2);
  assert.is(a.floorMs, 0, 'starts with no floor');
  // A world where waiting 5 ms gives the best latency, 0 ms the worst.
  const latencyFor = (floor: number): number => (floor === 5 ? 20 : floor < 5 ? 60 - floor * 6 : 20 + floor);
  let now = 0;
  for (let epoch = 0; epoch < 60; epoch++) {
    now += 600;
    a.observe(
      Array.from({ length: 64 }, () => latencyFor(a.floorMs)),
      now,
    );
  }
  const used: number[] = [];
  for (let epoch = 0; epoch < 8; epoch++) {
    now += 600;
    used.push(a.floorMs);
    a.observe(
      Array.from({ length: 64 }, () => latencyFor(a.floorMs)),
      now,
    );
  }
  assert.ok(used.filter((f) => f === 5).length >= 5, `mostly the best floor: ${used}`);
  // The world changes: now no floor is best. It follows.
  const latencyAfter = (floor: number): number => 10 + floor * 3;
  for (let epoch = 0; epoch < 80; epoch++) {
    now += 600;
    a.observe(
      Array.from({ length: 64 }, () => latencyAfter(a.floorMs)),
      now,
    );
  }
  const after: number[] = [];
  for (let epoch = 0; epoch < 8; epoch++) {
    now += 600;
    after.push(a.floorMs);
    a.observe(
      Array.from({ length: 64 }, () => latencyAfter(a.floorMs)),
      now,
    );
  }
  assert.ok(after.filter((f) => f === 0).length >= 5, `mostly no floor now: ${after}`);
});

test('an epoch needs 64 requests and 500 ms before the floor can change', () => {
  const a = new LatencyTargetAdvisor({ targetUs: 100_000, safety: 0.8, maxBatchSize: 32 });
  a.observe(Array(200).fill(50), 100);
  a.observe(Array(200).fill(50), 400);
  assert.is(a.floorMs, 0);
});

test('latency_target_us needs dynamic batching', () => {
  assert.throws(
    () => batchingPolicy('m', 8, undefined, { latencyTargetUs: 1000 }),
    (e: ServeError) => e.code === Code.INVALID_ARGUMENT && /needs dynamic_batching/.test(e.message),
  );
  assert.is(batchingPolicy('m', 8, db, { latencyTargetUs: 1000 }).latencyTargetUs, 1000);
});

test.run();
