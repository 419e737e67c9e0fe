// The model table tritonserver prints at start: one row per model version with its state
// (and the reason when it is not READY); a model with no version gets one row with '-'.

import type { ModelRegistry } from './registry.js';

export interface ModelStateRow {
  model: string;
  version: string;
  status: string;
}

export function modelStates(registry: ModelRegistry): ModelStateRow[] {
  const out: ModelStateRow[] = [];
  for (const m of registry.all()) {
    if (m.versions.size === 0) out.push({ model: m.name, version: '-', status: `${m.state ?? 'UNAVAILABLE'}${m.reason ? `: ${m.reason}` : ''}` });
    for (const v of [...m.versions.values()].sort((a, b) => a.version - b.version)) {
      out.push({ model: m.name, version: String(v.version), status: `${v.state}${v.reason ? `: ${v.reason}` : ''}` });
    }
  }
  return out;
}

export function formatModelTable(rows: readonly ModelStateRow[]): string {
  const cells: string[][] = [['Model', 'Version', 'Status'], ...rows.map((r) => [r.model, r.version, r.status])];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const fmt = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line, fmt(cells[0]!), line, ...cells.slice(1).map(fmt), line].join('\n');
}
