// Time series as a standalone SVG: one small panel per metric, stacked, sharing the time axis.

import { esc, niceCeil } from './plot.js';

export interface Panel {
  title: string;
  unit: string;
  values: number[];
}

export function timeSeriesSvg(title: string, timesS: number[], panels: Panel[], marks: Array<{ atS: number; label: string }> = []): string {
  const W = 760;
  const panelH = 120;
  const m = { l: 70, r: 20, t: 40, gap: 34 };
  const H = m.t + panels.length * (panelH + m.gap) + 10;
  const maxT = Math.max(1, ...timesS);
  const x = (t: number) => m.l + (t / maxT) * (W - m.l - m.r);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  panels.forEach((p, i) => {
    const top = m.t + i * (panelH + m.gap) + 14;
    const bottom = top + panelH;
    const finite = p.values.filter(Number.isFinite);
    const maxV = niceCeil(Math.max(1e-9, ...finite));
    const y = (v: number) => bottom - (v / maxV) * panelH;
    parts.push(`<text x="${m.l}" y="${top - 4}">${esc(`${p.title} (${p.unit})`)}</text>`);
    parts.push(`<line x1="${m.l}" y1="${bottom}" x2="${W - m.r}" y2="${bottom}" stroke="black"/>`);
    parts.push(`<line x1="${m.l}" y1="${top}" x2="${m.l}" y2="${bottom}" stroke="black"/>`);
    for (const f of [0, 0.5, 1]) {
      parts.push(`<text x="${m.l - 5}" y="${y(maxV * f) + 4}" text-anchor="end">${fmt(maxV * f)}</text>`);
      parts.push(`<line x1="${m.l}" y1="${y(maxV * f)}" x2="${W - m.r}" y2="${y(maxV * f)}" stroke="#eee"/>`);
    }
    for (const mark of marks) {
      parts.push(`<line x1="${x(mark.atS)}" y1="${top}" x2="${x(mark.atS)}" y2="${bottom}" stroke="#999" stroke-dasharray="3,3"/>`);
      if (i === 0) parts.push(`<text x="${x(mark.atS) + 3}" y="${top + 10}" fill="#666">${esc(mark.label)}</text>`);
    }
    const pts = timesS
      .map((t, j) => [t, p.values[j]!] as const)
      .filter(([, v]) => Number.isFinite(v))
      .map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`)
      .join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`);
    if (i === panels.length - 1) {
      for (let k = 0; k <= 6; k++) {
        const t = (maxT * k) / 6;
        parts.push(`<text x="${x(t)}" y="${bottom + 14}" text-anchor="middle">${fmtTime(t)}</text>`);
      }
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(2);
}

function fmtTime(s: number): string {
  return s >= 120 ? `${(s / 60).toFixed(0)} min` : `${s.toFixed(0)} s`;
}
