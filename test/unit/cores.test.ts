// The cgroup CPU limit, read as the kernel writes it: v2's cpu.max and v1's CFS quota.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cgroupCores, cpuMaxCores } from '../../src/cores.js';

test('cgroup v2 cpu.max: a quota over a period, rounded up; max means no limit', () => {
  assert.is(cpuMaxCores('400000 100000\n'), 4);
  assert.is(cpuMaxCores('150000 100000'), 2, '1.5 CPUs: two threads can each run part of the time');
  assert.is(cpuMaxCores('50000 100000'), 1);
  assert.is(cpuMaxCores('max 100000\n'), undefined);
  assert.is(cpuMaxCores('garbage'), undefined);
  assert.is(cpuMaxCores(''), undefined);
});

test('cgroup v1: cfs_quota_us over cfs_period_us; -1 means no limit; v2 is read first', () => {
  const files = (f: Record<string, string>) => (p: string) => f[p];
  assert.is(cgroupCores(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '200000\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' })), 2);
  assert.is(cgroupCores(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' })), undefined);
  assert.is(cgroupCores(files({ '/sys/fs/cgroup/cpu.max': '300000 100000', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000' })), 3);
  assert.is(cgroupCores(files({})), undefined);
});

test.run();
