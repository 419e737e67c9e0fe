import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RoundRobin } from '../../../src/scheduling/round-robin.js';

test('round-robin cycles through idle replicas in order', () => {
  const rr = new RoundRobin();
  assert.equal([0, 1, 2, 3, 4, 5, 6].map(() => rr.pick([0, 0, 0])), [0, 1, 2, 0, 1, 2, 0]);
});

test('round-robin skips replicas that have more batches in flight than others', () => {
  const rr = new RoundRobin();
  assert.is(rr.pick([1, 0, 0]), 1);
  assert.is(rr.pick([1, 1, 0]), 2);
  assert.is(rr.pick([0, 1, 1]), 0);
  assert.is(rr.pick([1, 1, 1]), 1, 'all equally busy: the next in turn');
});

test('round-robin stays in range when the replica count shrinks', () => {
  const rr = new RoundRobin();
  rr.pick([0, 0, 0, 0]);
  rr.pick([0, 0, 0, 0]);
  rr.pick([0, 0, 0, 0]);
  assert.is(rr.pick([0, 0]), 1);
  assert.is(rr.pick([0, 0]), 0);
});

test('round-robin refuses a model with no replicas', () => {
  assert.throws(() => new RoundRobin().pick([]), /at least one replica/);
});

test.run();
