// The cores this process may use: os.availableParallelism() counts the CPUs it may be
// scheduled on (the node's, in a container), and Node 20's libuv does not read the cgroup
// CPU limit, so a pod limited to 4 CPUs on a 64-core node would size 63 ONNX Runtime
// threads and 16 processes. The limit is read here, as the JVM and Go's automaxprocs do:
// this process's cgroup from /proc/self/cgroup, and the smallest CPU quota on the way up
// from it to the hierarchy's root (cgroup v2's cpu.max, else v1's CFS quota), in whole
// cores rounded down (a fraction more would be throttled), at least 1.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Cores a quota over a period allows; undefined when unlimited or not numbers. */
function coresOf(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.floor(quota / period));
}

/** Cores a cgroup v2 cpu.max ("max 100000" or "400000 100000") allows; undefined when unlimited or unreadable. */
export function cpuMaxCores(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  return coresOf(Number(quota), Number(period ?? 100_000));
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** `root`/`path` and each folder above it, up to and including `root`. */
function upTo(root: string, path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  return parts.map((_, i) => `${root}/${parts.slice(0, parts.length - i).join('/')}`).concat(root);
}

/** The cgroup's CPU limit in whole cores, the tightest from this process's cgroup up; undefined without one. */
export function cgroupCores(readFile: (path: string) => string | undefined = read): number | undefined {
  const lines = (readFile('/proc/self/cgroup') ?? '').split('\n');
  const limits: number[] = [];
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2 !== undefined) {
    for (const dir of upTo('/sys/fs/cgroup', v2.slice(3).trim())) {
      const text = readFile(`${dir}/cpu.max`);
      const cores = text === undefined ? undefined : cpuMaxCores(text);
      if (cores !== undefined) limits.push(cores);
    }
  }
  const v1 = lines.map((l) => l.split(':')).find((f) => f.length >= 3 && f[1]!.split(',').includes('cpu'));
  if (v1) {
    for (const mount of ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpu']) {
      for (const dir of upTo(mount, v1.slice(2).join(':').trim())) {
        const quota = readFile(`${dir}/cpu.cfs_quota_us`);
        const period = readFile(`${dir}/cpu.cfs_period_us`);
        const cores = quota === undefined || period === undefined ? undefined : coresOf(Number(quota), Number(period));
        if (cores !== undefined) limits.push(cores);
      }
    }
  }
  return limits.length ? Math.min(...limits) : undefined;
}

/** The cores to size threads and processes by: the CPUs this process may run on, at most the cgroup's limit. */
export function usableCores(): number {
  const limit = cgroupCores();
  return Math.max(1, Math.min(availableParallelism(), limit ?? Number.POSITIVE_INFINITY));
}
