// Flag values: the parsers every flag group uses, each refusing a bad value with an
// OptionError that names the flag (and never echoes a value that may be a secret).

import { resolve } from 'node:path';

export class OptionError extends Error {}

export function path(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value === '' || value.includes('\0')) throw new OptionError('a file flag must name a file');
  return resolve(value);
}

export function envName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Never echoed: a key pasted here by mistake must not reach the terminal or the journal.
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(value))
    throw new OptionError('--model-key-env takes the name of an environment variable (letters, digits, _), not a key');
  return value;
}

export function int(flag: string, value: string | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new OptionError(`--${flag} must be an integer in ${min}..${max}, got '${value}'`);
  return n;
}

/** tritonserver's --metrics-config key=value; summary_latencies is the one read here. */
export function metricsConfig(entries: string[]): boolean {
  let summaries = false;
  for (const e of entries) {
    const m = /^summary_latencies=(true|false)$/.exec(e);
    if (!m) throw new OptionError(`--metrics-config must be summary_latencies=true|false, got '${e}'`);
    summaries = m[1] === 'true';
  }
  return summaries;
}

export function seconds(flag: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n < 0.1 || n > 86400) throw new OptionError(`--${flag} must be a number of seconds in 0.1..86400, got '${value}'`);
  return n;
}

export function bool(flag: string, value: string | undefined, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (['true', '1', 'on', 'yes'].includes(value)) return true;
  if (['false', '0', 'off', 'no'].includes(value)) return false;
  throw new OptionError(`--${flag} must be true or false, got '${value}'`);
}
