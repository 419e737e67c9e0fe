import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Admission } from '../../../src/core/admission.js';
import { ServeError, exhausted } from '../../../src/errors.js';

const overloaded = { error: exhausted('overloaded: test'), ratio: 1.2 };
const far = { error: exhausted('overloaded: test'), ratio: 1.6 };
const refused = (fn: () => void): boolean => {
  try {
    fn();
    return false;
  } catch (err) {
    assert.instance(err, ServeError);
    return true;
  }
};

test('without overload every request is admitted, and its rows are held until done', () => {
  const a = new Admission();
  const r1 = {};
  const r2 = {};
  a.admit(r1, 4, 'c1', undefined);
  a.admit(r2, 1, 'c2', undefined);
  assert.is(a.upstreamRows, 5);
  assert.is(a.sources, 2);
  a.queued(r1);
  assert.is(a.upstreamRows, 1);
  a.done(r1);
  a.done(r2); // abandoned before it was queued
  assert.is(a.upstreamRows, 0);
  assert.is(a.sources, 0);
  a.done(r2); // twice: nothing more to give back
  assert.is(a.upstreamRows, 0);
});

test('while overloaded, the source sending the backlog is refused and a light one is let in', () => {
  const a = new Admission();
  for (let i = 0; i < 50; i++) a.admit({}, 1, 'flood', undefined);
  assert.ok(
    refused(() => a.admit({}, 1, 'flood', overloaded)),
    'the flood is refused',
  );
  assert.not.ok(
    refused(() => a.admit({}, 1, 'polite', overloaded)),
    'a client with nothing waiting gets in',
  );
  assert.not.ok(
    refused(() => a.admit({}, 1, 'polite', overloaded)),
    'and again, while it holds less than an equal share',
  );
  assert.ok(refused(() => a.admit({}, 1, 'flood', overloaded)));
});

test('past the band even a light source is refused: many light clients cannot grow the queue without bound', () => {
  const a = new Admission();
  for (let i = 0; i < 50; i++) a.admit({}, 1, 'flood', undefined);
  assert.ok(refused(() => a.admit({}, 1, 'polite', far)));
});

test('with every source holding an equal share, every one is refused (a flood spread over connections)', () => {
  const a = new Admission();
  for (let c = 0; c < 10; c++) for (let i = 0; i < 5; i++) a.admit({}, 1, `conn${c}`, undefined);
  for (let c = 0; c < 10; c++)
    assert.ok(
      refused(() => a.admit({}, 1, `conn${c}`, overloaded)),
      `conn${c}`,
    );
});

test('a stalled model with nothing admitted refuses everyone', () => {
  const a = new Admission();
  assert.ok(refused(() => a.admit({}, 1, 'any', overloaded)));
});

test.run();
