// Paths built from anything a client or a config can set (a load request's file names,
// default_model_filename, warmup input_data_file, label_filename) are resolved here and
// must stay inside their root, symbolic links included. Messages name the path as it was
// given, relative to its root, never the server's absolute paths.

import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { ConfigError } from './config-file.js';
import { escapeControl } from '../log.js';

/**
 * Checks the form of a relative path: non-empty, no absolute path, no backslash, no
 * empty, '.' or '..' segment, no control characters. Returns its segments.
 */
export function relativeSegments(rel: string, what: string): string[] {
  // eslint-disable-next-line no-control-regex
  if (rel === '' || rel.length > 4096 || isAbsolute(rel) || rel.includes('\\') || /[\u0000-\u001f\u007f]/.test(rel)) {
    throw new ConfigError(`${what} '${printable(rel)}' must be a relative path inside the model folder`);
  }
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new ConfigError(`${what} '${printable(rel)}' must be a relative path inside the model folder, without '.', '..' or empty segments`);
  }
  return parts;
}

/**
 * The absolute path of `rel` under `root`, after checking its form and, where it exists,
 * that its real path (links followed) is still inside the real path of `root`. A path
 * that does not exist yet is checked through its nearest existing ancestor.
 */
export function resolveInside(root: string, rel: string, what: string): string {
  const parts = relativeSegments(rel, what);
  const path = join(root, ...parts);
  if (!existsSync(root)) return path;
  const realRoot = realpathSync(root);
  // lstat, not exists: a dangling link is there (and would lead wherever it points later).
  let probe = path;
  while (!present(probe) && probe !== root) probe = join(probe, '..');
  let real: string;
  try {
    real = realpathSync(probe);
  } catch {
    throw new ConfigError(`${what} '${printable(rel)}' goes through a symbolic link that leads nowhere`);
  }
  const back = relative(realRoot, real);
  if (back === '..' || back.startsWith(`..${sep}`) || isAbsolute(back)) {
    throw new ConfigError(`${what} '${printable(rel)}' leads outside the model folder (through a symbolic link)`);
  }
  return path;
}

function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A client-supplied string made safe to quote in a message or a log line: control characters escaped, length bounded. */
export function printable(s: string, max = 200): string {
  const escaped = escapeControl(s);
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}
