// The load generator's results on disk: CSV with perf_analyzer's column names (latencies
// in µs, as it writes them), JSON with every field, and an SVG of throughput vs latency.

import { writeFileSync } from 'node:fs';
import { throughputLatencySvg } from './plot.js';
import type { StepResult } from './session.js';

export interface ResultsFile {
  output?: string | undefined;
  plot?: string | undefined;
  model: string;
  batchSize: number;
  intervalMs: number;
  percentile: number;
  results: StepResult[];
}

const us = (ms: number): number => Math.round(ms * 1000);

/** perf_analyzer's CSV header for the columns this generator measures, then ours. */
export function csv(results: StepResult[]): string {
  const rate = results[0]?.mode === 'rate';
  const header = [
    rate ? 'Request Rate' : 'Concurrency',
    'Inferences/Second',
    'Server Queue',
    'Server Compute Input',
    'Server Compute Infer',
    'Server Compute Output',
    'p50 latency',
    'p90 latency',
    'p95 latency',
    'p99 latency',
    'Avg latency',
    'Errors',
    'Client CPU Cores',
  ];
  const rows = results.map((r) =>
    [
      r.level,
      r.throughput.toFixed(2),
      Math.round(r.queueUs),
      Math.round(r.computeInputUs),
      Math.round(r.computeInferUs),
      Math.round(r.computeOutputUs),
      us(r.p50Ms),
      us(r.p90Ms),
      us(r.p95Ms),
      us(r.p99Ms),
      us(r.meanMs),
      r.errors + r.dropped,
      r.clientCores.toFixed(2),
    ].join(','),
  );
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

export function writeResults(f: ResultsFile): void {
  if (f.output) {
    writeFileSync(
      f.output,
      f.output.endsWith('.csv')
        ? csv(f.results)
        : `${JSON.stringify({ model: f.model, batchSize: f.batchSize, intervalMs: f.intervalMs, percentile: f.percentile, results: f.results }, null, 2)}\n`,
    );
    console.log(`wrote ${f.output}`);
  }
  if (f.plot) {
    const label = (r: StepResult) => (r.mode === 'rate' ? `${r.level}/s` : `c${r.level}`);
    writeFileSync(
      f.plot,
      throughputLatencySvg(`${f.model}: throughput vs p${f.percentile} latency`, `p${f.percentile} latency (ms)`, [
        { name: f.model, points: f.results.map((r) => ({ throughput: r.throughput, latencyMs: r.pMs, label: label(r) })) },
      ]),
    );
    console.log(`wrote ${f.plot}`);
  }
}
