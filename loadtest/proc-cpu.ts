// CPU seconds a process (or a process and its children) has used so far, from /proc, so a
// bench can say how much of the machine the server took while the load ran.

import { readFileSync } from 'node:fs';

/** User + system CPU seconds of one process; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The same over a live process tree (a --server-processes primary and its workers). */
export function treeCpuSeconds(root: number): number {
  let total = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const own = cpuSeconds(pid);
    if (Number.isNaN(own)) continue;
    total += own;
    try {
      stack.push(...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
