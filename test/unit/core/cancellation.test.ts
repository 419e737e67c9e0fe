import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallCancellation } from '../../../src/core/cancellation.js';

test('fire calls every listener once, in order', () => {
  const c = new CallCancellation();
  const seen: string[] = [];
  c.onCancel(() => seen.push('a'));
  c.onCancel(() => seen.push('b'));
  c.fire();
  c.fire();
  assert.equal(seen, ['a', 'b']);
});

test('a listener that stopped listening is not called', () => {
  const c = new CallCancellation();
  const seen: string[] = [];
  const stopA = c.onCancel(() => seen.push('a'));
  c.onCancel(() => seen.push('b'));
  stopA();
  stopA();
  c.fire();
  assert.equal(seen, ['b']);
});

test('a listener added after the call was cancelled runs at once', () => {
  const c = new CallCancellation();
  c.fire();
  let called = 0;
  const stop = c.onCancel(() => called++);
  assert.is(called, 1);
  stop();
  c.fire();
  assert.is(called, 1);
});

test.run();
