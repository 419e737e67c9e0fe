// Breaker transitions on a fake clock: opossum's timers are third-party, so they run
// under @sinonjs/fake-timers; the runner is a stub whose batches the test settles.

import FakeTimers from '@sinonjs/fake-timers';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, everyReplicaOpen, type ServeError } from '../../../src/errors.js';
import type { RunResult } from '../../../src/execution/protocol.js';
import { RoundRobin } from '../../../src/scheduling/policies.js';
import { ReplicaSet, type BatchRunner, type BreakerOptions } from '../../../src/scheduling/replica-set.js';

const result: RunResult = { outputs: [], timings: { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 } };
const breaker: BreakerOptions = { timeoutMs: 0, errorThresholdPercentage: 50, volumeThreshold: 2, resetTimeoutMs: 1000, rollingWindowMs: 10_000 };

/** Replica i fails while failing[i] is set. */
function runner(failing: boolean[]): BatchRunner & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    run: (i) => {
      calls.push(i);
      return failing[i] ? Promise.reject(new Error(`replica ${i} broke`)) : Promise.resolve(result);
    },
  };
}

function setup(failing: boolean[], opts: Partial<BreakerOptions> = {}) {
  const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  const events: string[] = [];
  const r = runner(failing);
  const set = new ReplicaSet(
    'm',
    r,
    failing.map((_, i) => ({ name: `m_${i}`, priority: 1, capacity: 1 })),
    new RoundRobin(),
    { ...breaker, ...opts },
    {
      breakerChanged: (replica, state, allOpen) => events.push(`${replica}:${state}${allOpen ? ':all' : ''}`),
      roomChanged: () => undefined,
    },
  );
  return { clock, events, set, r };
}

async function runOnce(set: ReplicaSet): Promise<string> {
  const { replica, done } = set.run(1, [], []);
  try {
    await done;
    return `${replica}:ok`;
  } catch (err) {
    return `${replica}:${(err as ServeError).code}`;
  }
}

test("failures open a replica's breaker; the scheduler then skips it", async () => {
  const { clock, events, set, r } = setup([true, false]);
  try {
    const outcomes = [];
    for (let k = 0; k < 6; k++) outcomes.push(await runOnce(set));
    assert.equal(outcomes.slice(0, 4), ['m_0:13', 'm_1:ok', 'm_0:13', 'm_1:ok']);
    assert.equal(events, ['m_0:open']);
    assert.equal(outcomes.slice(4), ['m_1:ok', 'm_1:ok'], 'the open replica gets no batches');
    assert.equal(r.calls.filter((i) => i === 0).length, 2);
    assert.equal(
      set.states().map((s) => s.breaker),
      ['open', 'closed'],
    );
  } finally {
    clock.uninstall();
  }
});

test('after the reset timeout one trial batch goes to the replica; success closes the breaker', async () => {
  const failing = [true, false];
  const { clock, events, set } = setup(failing);
  try {
    for (let k = 0; k < 4; k++) await runOnce(set);
    assert.equal(set.states()[0]!.breaker, 'open');
    failing[0] = false;
    clock.tick(1000);
    assert.equal(set.states()[0]!.breaker, 'half-open');
    const trial = await runOnce(set);
    assert.is(trial, 'm_0:ok');
    assert.equal(events, ['m_0:open', 'm_0:half-open', 'm_0:closed']);
    assert.equal([await runOnce(set), await runOnce(set)], ['m_1:ok', 'm_0:ok'], 'back in rotation');
  } finally {
    clock.uninstall();
  }
});

test('a failed trial opens the breaker again', async () => {
  const { clock, events, set } = setup([true, false]);
  try {
    for (let k = 0; k < 4; k++) await runOnce(set);
    clock.tick(1000);
    assert.is(await runOnce(set), 'm_0:13');
    assert.equal(events, ['m_0:open', 'm_0:half-open', 'm_0:open']);
  } finally {
    clock.uninstall();
  }
});

test('when every breaker is open the set says so and refuses with UNAVAILABLE naming the model', async () => {
  const { clock, events, set } = setup([true, true], { volumeThreshold: 1 });
  try {
    await runOnce(set);
    await runOnce(set);
    assert.ok(set.allOpen());
    assert.ok(events.at(-1)!.endsWith(':all'));
    assert.not.ok(set.hasRoom());
    const { done } = set.run(1, [], []);
    const err = await done.then(
      () => undefined,
      (e: ServeError) => e,
    );
    assert.is(err?.code, Code.UNAVAILABLE);
    assert.is(err!.message, everyReplicaOpen('m').message, 'the catalogue message');
  } finally {
    clock.uninstall();
  }
});

test('a batch over the breaker timeout fails with DEADLINE_EXCEEDED and keeps the replica busy until its worker is done', async () => {
  const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  try {
    let finish!: () => void;
    const slow: BatchRunner = { run: () => new Promise<RunResult>((resolve) => (finish = () => resolve(result))) };
    const set = new ReplicaSet(
      'm',
      slow,
      [{ name: 'm_0', priority: 1, capacity: 1 }],
      new RoundRobin(),
      { ...breaker, timeoutMs: 100 },
      {
        breakerChanged: () => undefined,
        roomChanged: () => undefined,
      },
    );
    const { done } = set.run(1, [], []);
    const outcome = done.then(
      () => 'ok',
      (e: ServeError) => `${e.code} ${e.message}`,
    );
    clock.tick(100);
    assert.match(await outcome, /^4 model 'm' replica m_0 took longer than its 100 ms batch timeout/);
    assert.not.ok(set.hasRoom(), 'the worker is still running the batch');
    finish();
    await Promise.resolve();
    await Promise.resolve();
    assert.ok(set.hasRoom());
  } finally {
    clock.uninstall();
  }
});

test.run();
