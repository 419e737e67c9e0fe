import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionsBySize } from '../../../src/execution/sessions-by-size.js';

function harness(max: number) {
  let made = 0;
  const released: string[] = [];
  const cache = new SessionsBySize<string>(
    'base',
    max,
    async () => `s${++made}`,
    async (s) => void released.push(s),
  );
  return { cache, released, made: () => made };
}

test('the first size seen runs on the base session; each new size gets its own', async () => {
  const h = harness(4);
  assert.is(await h.cache.get(1), 'base');
  assert.is(await h.cache.get(2), 's1');
  assert.is(await h.cache.get(1), 'base');
  assert.is(await h.cache.get(2), 's1');
  assert.is(await h.cache.get(4), 's2');
  assert.is(h.made(), 2);
  assert.equal(h.cache.made(), ['s1', 's2']);
});

test('past the limit the least recently used session is released; the base never is', async () => {
  const h = harness(2);
  await h.cache.get(1); // base
  await h.cache.get(2); // s1
  await h.cache.get(1); // base is now the most recently used
  await h.cache.get(4); // s2: 2 (s1) goes
  assert.equal(h.released, ['s1']);
  await h.cache.get(8); // s3: 1 (base) leaves the map, not released
  assert.equal(h.released, ['s1']);
  assert.is(await h.cache.get(16), 'base', 'the base serves again once free');
  assert.equal(h.released, ['s1', 's2']);
  assert.equal(h.cache.made(), ['s3']);
});

test.run();
