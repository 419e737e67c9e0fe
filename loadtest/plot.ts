// A throughput-vs-latency chart as a standalone SVG: one line per series, a point per step.

export interface Series {
  name: string;
  points: Array<{ throughput: number; latencyMs: number; label: string }>;
}

const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

export function throughputLatencySvg(title: string, latencyLabel: string, series: Series[]): string {
  const W = 720;
  const H = 440;
  const m = { l: 70, r: 160, t: 40, b: 55 };
  const all = series.flatMap((s) => s.points);
  const maxX = niceCeil(Math.max(1, ...all.map((p) => p.throughput)));
  const maxY = niceCeil(Math.max(0.001, ...all.map((p) => p.latencyMs)));
  const x = (v: number) => m.l + (v / maxX) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - (v / maxY) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 15}" text-anchor="middle">throughput (inferences/s)</text>`,
    `<text x="18" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(m.t + H - m.b) / 2})">${esc(latencyLabel)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const vx = (maxX * i) / 5;
    const vy = (maxY * i) / 5;
    parts.push(`<text x="${x(vx)}" y="${H - m.b + 16}" text-anchor="middle">${fmt(vx)}</text>`);
    parts.push(`<text x="${m.l - 6}" y="${y(vy) + 4}" text-anchor="end">${fmt(vy)}</text>`);
    parts.push(`<line x1="${m.l}" y1="${y(vy)}" x2="${W - m.r}" y2="${y(vy)}" stroke="#eee"/>`);
  }
  series.forEach((s, i) => {
    const c = colors[i % colors.length]!;
    const pts = s.points.map((p) => `${x(p.throughput).toFixed(1)},${y(p.latencyMs).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const p of s.points) {
      parts.push(
        `<circle cx="${x(p.throughput).toFixed(1)}" cy="${y(p.latencyMs).toFixed(1)}" r="3.5" fill="${c}"><title>${esc(`${s.name} ${p.label}: ${fmt(p.throughput)}/s, ${fmt(p.latencyMs)} ms`)}</title></circle>`,
      );
      parts.push(`<text x="${x(p.throughput) + 5}" y="${y(p.latencyMs) - 5}" fill="${c}" font-size="10">${esc(p.label)}</text>`);
    }
    parts.push(`<rect x="${W - m.r + 12}" y="${m.t + i * 20}" width="12" height="12" fill="${c}"/>`);
    parts.push(`<text x="${W - m.r + 30}" y="${m.t + i * 20 + 10}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** The next round number at or above `v` (1, 2, 2.5, 5 times a power of ten): an axis maximum. */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const f of [1, 2, 2.5, 5, 10]) if (v <= f * p) return f * p;
  return 10 * p;
}

/** Text for an SVG text node. */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
