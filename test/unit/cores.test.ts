// The cgroup CPU limit, read as the kernel writes it: this process's cgroup from
// /proc/self/cgroup, v2's cpu.max and v1's CFS quota, the tightest on the way up.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cgroupCores, cpuMaxCores } from '../../src/cores.js';

const files = (f: Record<string, string>) => (p: string) => f[p];

test('cgroup v2 cpu.max: a quota over a period, rounded down to whole cores, at least 1; max means no limit', () => {
  assert.is(cpuMaxCores('400000 100000\n'), 4);
  assert.is(cpuMaxCores('150000 100000'), 1, '1.5 CPUs: a second thread would be throttled');
  assert.is(cpuMaxCores('50000 100000'), 1);
  assert.is(cpuMaxCores('max 100000\n'), undefined);
  assert.is(cpuMaxCores('garbage'), undefined);
  assert.is(cpuMaxCores(''), undefined);
});

test("cgroup v2: a container's own namespace root, a systemd unit's cgroup below the root, the tightest of a nested pair", () => {
  assert.is(cgroupCores(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '300000 100000\n' })), 3);
  assert.is(
    cgroupCores(files({ '/proc/self/cgroup': '0::/system.slice/triton.service\n', '/sys/fs/cgroup/system.slice/triton.service/cpu.max': '200000 100000' })),
    2,
    'CPUQuota=200% on a unit, the root having no cpu.max',
  );
  assert.is(
    cgroupCores(files({ '/proc/self/cgroup': '0::/init\n', '/sys/fs/cgroup/init/cpu.max': '800000 100000', '/sys/fs/cgroup/cpu.max': '200000 100000' })),
    2,
  );
  assert.is(cgroupCores(files({ '/proc/self/cgroup': '0::/user.slice\n' })), undefined, 'no limit anywhere');
  assert.is(cgroupCores(files({})), undefined);
});

test("cgroup v1: the cpu controller's path, cfs_quota_us over cfs_period_us; -1 means no limit", () => {
  const cg = '12:cpu,cpuacct:/kubepods/pod1/abc\n4:memory:/kubepods/pod1/abc\n';
  const dir = '/sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/abc';
  assert.is(cgroupCores(files({ '/proc/self/cgroup': cg, [`${dir}/cpu.cfs_quota_us`]: '200000\n', [`${dir}/cpu.cfs_period_us`]: '100000\n' })), 2);
  assert.is(cgroupCores(files({ '/proc/self/cgroup': cg, [`${dir}/cpu.cfs_quota_us`]: '-1\n', [`${dir}/cpu.cfs_period_us`]: '100000\n' })), undefined);
});

test.run();
