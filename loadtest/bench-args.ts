// The flags every interleaved bench takes: --rounds, --interval (ms per step) and, where it
// has one, --concurrency; each with the bench's own default.

import { parseArgs } from 'node:util';

export function benchArgs(defaults: { rounds: number; interval: number; concurrency?: number }): { rounds: number; interval: number; concurrency: number } {
  const { values: v } = parseArgs({
    args: process.argv.slice(3),
    options: {
      rounds: { type: 'string', default: String(defaults.rounds) },
      interval: { type: 'string', default: String(defaults.interval) },
      concurrency: { type: 'string', default: String(defaults.concurrency ?? 1) },
    },
  });
  return { rounds: Number(v.rounds), interval: Number(v.interval), concurrency: Number(v.concurrency) };
}
