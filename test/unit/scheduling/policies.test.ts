import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LeastLoaded, PriorityFirst, RoundRobin, createPicker, type ReplicaState } from '../../../src/scheduling/policies.js';

const r = (patch: Partial<ReplicaState> = {}): ReplicaState => ({ available: true, inFlightBatches: 0, inFlightRows: 0, capacity: 1, priority: 1, ...patch });

test('round_robin takes each replica with room in turn', () => {
  const rr = new RoundRobin();
  const idle = [r(), r(), r()];
  assert.equal(
    [0, 1, 2, 3].map(() => rr.pick(idle)),
    [0, 1, 2, 0],
  );
});

test('round_robin skips busy and out-of-rotation replicas, and says when none is left', () => {
  const rr = new RoundRobin();
  assert.is(rr.pick([r({ inFlightBatches: 1 }), r({ available: false }), r()]), 2);
  assert.is(rr.pick([r({ inFlightBatches: 1 }), r({ available: false }), r({ inFlightBatches: 1 })]), -1);
  assert.is(rr.pick([r({ inFlightBatches: 1, capacity: 2 }), r({ available: false })]), 0, 'capacity 2 leaves room');
});

test('least_loaded picks the replica with the fewest rows in flight', () => {
  const ll = new LeastLoaded();
  const reps = [
    r({ inFlightRows: 8, inFlightBatches: 1, capacity: 2 }),
    r({ inFlightRows: 2, inFlightBatches: 1, capacity: 2 }),
    r({ inFlightRows: 5, inFlightBatches: 1, capacity: 2 }),
  ];
  assert.is(ll.pick(reps), 1);
  assert.is(
    ll.pick([r({ inFlightRows: 0, available: false }), r({ inFlightRows: 3, capacity: 2, inFlightBatches: 1 })]),
    1,
    'an open breaker is skipped even when idle',
  );
});

test('least_loaded breaks ties round-robin', () => {
  const ll = new LeastLoaded();
  assert.equal(
    [0, 1, 2].map(() => ll.pick([r(), r()])),
    [0, 1, 0],
  );
});

test('priority prefers the lowest rate_limiter.priority and spills over when it is busy', () => {
  const p = new PriorityFirst();
  const reps = [r({ priority: 3 }), r({ priority: 1 }), r({ priority: 2 })];
  assert.is(p.pick(reps), 1);
  reps[1]!.inFlightBatches = 1;
  assert.is(p.pick(reps), 2, 'spills to the next preferred');
  reps[2]!.available = false;
  assert.is(p.pick(reps), 0);
  assert.is(p.pick([r({ priority: 0 }), r({ priority: 2 })]), 0, 'priority 0 counts as 1');
});

test('pickers are made by the replica_policy names', () => {
  assert.instance(createPicker('round_robin'), RoundRobin);
  assert.instance(createPicker('least_loaded'), LeastLoaded);
  assert.instance(createPicker('priority'), PriorityFirst);
});

test.run();
