import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bucketRows } from '../../../src/batching/buckets.js';

test('a batch is padded to the next power of two', () => {
  assert.equal(
    [1, 2, 3, 4, 5, 8, 9, 17, 33].map((r) => bucketRows(r, 256)),
    [1, 2, 4, 4, 8, 8, 16, 32, 64],
  );
});

test('never past max_batch_size, which is a bucket of its own', () => {
  assert.equal(
    [5, 8, 9, 12].map((r) => bucketRows(r, 12)),
    [8, 8, 12, 12],
  );
  assert.is(bucketRows(6, 6), 6);
  assert.is(bucketRows(1, 1), 1);
});

test.run();
