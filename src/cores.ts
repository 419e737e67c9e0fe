// The cores this process may use: os.availableParallelism() counts the CPUs it may be
// scheduled on (the node's, in a container), and Node 20's libuv does not read the cgroup
// CPU limit, so a pod limited to 4 CPUs on a 64-core node would size 63 ONNX Runtime
// threads and 16 processes. The limit is read here: cgroup v2's cpu.max, else v1's CFS
// quota, rounded up.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** CPUs a cgroup v2 cpu.max ("max 100000" or "400000 100000") allows; undefined when unlimited or unreadable. */
export function cpuMaxCores(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  return coresOf(Number(quota), Number(period ?? 100_000));
}

function coresOf(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.ceil(quota / period));
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The cgroup's CPU limit in whole cores, if there is one. */
export function cgroupCores(readFile: (path: string) => string | undefined = read): number | undefined {
  const v2 = readFile('/sys/fs/cgroup/cpu.max');
  if (v2 !== undefined) return cpuMaxCores(v2);
  const quota = readFile('/sys/fs/cgroup/cpu/cpu.cfs_quota_us');
  const period = readFile('/sys/fs/cgroup/cpu/cpu.cfs_period_us');
  return quota === undefined || period === undefined ? undefined : coresOf(Number(quota), Number(period));
}

/** The cores to size threads and processes by: the CPUs this process may run on, at most the cgroup's limit. */
export function usableCores(): number {
  const limit = cgroupCores();
  return Math.max(1, Math.min(availableParallelism(), limit ?? Number.POSITIVE_INFINITY));
}
