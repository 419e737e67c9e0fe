import FakeTimers from '@sinonjs/fake-timers';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { systemClock } from '../../src/clock.js';

test('a timer further off than setTimeout can hold fires then, not after 1 ms', () => {
  const fake = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  try {
    let fired = 0;
    const month = 31 * 24 * 3600 * 1000; // past 2^31 - 1 ms (24.8 days)
    systemClock.setTimer(systemClock.now() + month, () => fired++);
    fake.tick(1000);
    assert.is(fired, 0, 'not at once');
    fake.tick(month - 2000);
    assert.is(fired, 0, 'not before its time');
    fake.tick(2000);
    assert.is(fired, 1);
    const t = systemClock.setTimer(systemClock.now() + month, () => fired++);
    fake.tick(2 ** 31);
    t.cancel();
    fake.tick(month);
    assert.is(fired, 1, 'a cancelled far-off timer never fires, even after re-arming');
  } finally {
    fake.uninstall();
  }
});

test.run();
