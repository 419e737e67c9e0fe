// Re-reads files named at start (policy, certificates) when they change. fs.watchFile
// polls stat() (mtime, size, inode), which also sees an atomic rename-over and works on
// the bind-mounted, symlink-swapped files Kubernetes secrets are; fs.watch does not
// follow those reliably. Changes to several files of one set (a certificate and its key)
// within `settleMs` fire one callback, so a rotation is read once both files are written.

import { unwatchFile, watchFile, type Stats } from 'node:fs';

export interface FileWatchOptions {
  /** How often each file is stat()ed. */
  intervalMs?: number;
  /** Quiet time after the last change before the callback runs. */
  settleMs?: number;
}

/** Watches `paths`; returns a function that stops watching. */
export function watchFiles(paths: readonly string[], onChange: () => void, opts: FileWatchOptions = {}): () => void {
  const interval = opts.intervalMs ?? 1000;
  const settle = opts.settleMs ?? 250;
  let timer: NodeJS.Timeout | undefined;
  const listener = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, settle);
    timer.unref();
  };
  const unique = [...new Set(paths)];
  for (const p of unique) watchFile(p, { interval, persistent: false }, listener);
  return () => {
    clearTimeout(timer);
    for (const p of unique) unwatchFile(p, listener);
  };
}
