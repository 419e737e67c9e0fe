import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RoundRobin } from '../../../src/scheduling/round-robin.js';

test('round-robin cycles through the replicas in order', () => {
  const rr = new RoundRobin();
  assert.equal([0, 1, 2, 3, 4, 5, 6].map(() => rr.pick(3)), [0, 1, 2, 0, 1, 2, 0]);
});

test('round-robin stays in range when the replica count shrinks', () => {
  const rr = new RoundRobin();
  rr.pick(4);
  rr.pick(4);
  rr.pick(4);
  assert.is(rr.pick(2), 1);
  assert.is(rr.pick(2), 0);
});

test('round-robin refuses a model with no replicas', () => {
  assert.throws(() => new RoundRobin().pick(0), /count must be positive/);
});

test.run();
