import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseShapes } from '../../../loadtest/inputs.js';
import { seededRandom } from '../../../loadtest/open-loop.js';
import { percentile, summarize } from '../../../loadtest/percentiles.js';
import { throughputLatencySvg } from '../../../loadtest/plot.js';
import { rangeSteps } from '../../../loadtest/session.js';

test('ranges step additively as perf_analyzer does, or multiply with xN', () => {
  assert.equal(rangeSteps('1:8:2', '--c'), [1, 3, 5, 7]);
  assert.equal(rangeSteps('1:32:x2', '--c'), [1, 2, 4, 8, 16, 32]);
  assert.equal(rangeSteps('4', '--c'), [4]);
  assert.equal(rangeSteps('100:300:100', '--r'), [100, 200, 300]);
  assert.throws(() => rangeSteps('8:1', '--c'), /does not advance/);
  assert.throws(() => rangeSteps('1:8:x1', '--c'), /does not advance/);
  assert.throws(() => rangeSteps('a:b', '--c'), /must be START/);
});

test('percentiles use nearest rank', () => {
  const s = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.is(percentile(s, 50), 50);
  assert.is(percentile(s, 99), 99);
  assert.is(percentile(s, 100), 100);
  assert.is(percentile([7], 99), 7);
  const sum = summarize([3, 1, 2]);
  assert.is(sum.p50Ms, 2);
  assert.is(sum.maxMs, 3);
  assert.is(sum.meanMs, 2);
});

test('the seeded generator repeats and its exponential gaps average 1/rate', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 5 }, () => a());
  assert.equal(
    xs,
    Array.from({ length: 5 }, () => b()),
  );
  const r = seededRandom(7);
  let total = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) total += -Math.log(1 - r()) / 100;
  assert.ok(Math.abs(total / n - 0.01) < 0.0005, `mean gap ${total / n}`);
});

test('shapes parse from NAME:D1,D2;NAME:D', () => {
  assert.equal(parseShapes('x:3,48,192;y:4'), { x: [3, 48, 192], y: [4] });
  assert.equal(parseShapes(undefined), {});
  assert.throws(() => parseShapes('x'), /--shape must look like/);
});

test('the plot is an SVG with one polyline per series', () => {
  const svg = throughputLatencySvg('t', 'p99 (ms)', [
    {
      name: 'a',
      points: [
        { throughput: 10, latencyMs: 1, label: 'c1' },
        { throughput: 20, latencyMs: 4, label: 'c2' },
      ],
    },
    { name: 'b<c', points: [{ throughput: 15, latencyMs: 2, label: 'c1' }] },
  ]);
  assert.match(svg, /^<svg /);
  assert.is(svg.match(/<polyline/g)?.length, 2);
  assert.match(svg, /b&lt;c/);
});

test.run();
