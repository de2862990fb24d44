// A small SVG chart writer for the benchmark reports (docs/performance.md): grouped bars
// and log-x line charts, no dependencies. Output is plain SVG 1.1 text.

/** Series is one coloured set of values, one per category (bars) or per x (lines). */
export interface Series {
  name: string;
  values: (number | undefined)[];
}

/** ChartOptions name the chart, its categories (or x values) and its y axis. */
export interface ChartOptions {
  title: string;
  categories: string[];
  yLabel: string;
  series: Series[];
  /** logY draws the y axis logarithmically. */
  logY?: boolean;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const W = 760;
const H = 380;
const M = { l: 80, r: 20, t: 40, b: 70 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmt(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

function scale(o: ChartOptions): { y: (v: number) => number; ticks: number[] } {
  const all = o.series.flatMap((s) => s.values).filter((v): v is number => v !== undefined);
  const max = Math.max(...all, 1e-9);
  const ih = H - M.t - M.b;
  if (o.logY === true) {
    const min = Math.min(...all.filter((v) => v > 0));
    const lo = Math.floor(Math.log10(min));
    const hi = Math.ceil(Math.log10(max));
    const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
    const y = (v: number): number => M.t + ih - ((Math.log10(v) - lo) / (hi - lo || 1)) * ih;
    return { y, ticks };
  }
  const step =
    10 ** Math.floor(Math.log10(max)) / (max / 10 ** Math.floor(Math.log10(max)) < 3 ? 4 : 1);
  const top = Math.ceil(max / step) * step;
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
  return { y: (v: number) => M.t + ih - (v / top) * ih, ticks };
}

function frame(o: ChartOptions, y: (v: number) => number, ticks: number[]): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`,
    `<text transform="translate(16 ${(H - M.b + M.t) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  ];
  for (const t of ticks) {
    out.push(
      `<line x1="${M.l}" x2="${W - M.r}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`,
      `<text x="${M.l - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`,
    );
  }
  out.push(`<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${H - M.b}" stroke="#333"/>`);
  o.series.forEach((s, i) => {
    const x = M.l + 10 + i * 150;
    out.push(
      `<rect x="${x}" y="${H - 22}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${x + 16}" y="${H - 12}">${esc(s.name)}</text>`,
    );
  });
  return out;
}

/** barChart draws one group of bars per category, one bar per series. */
export function barChart(o: ChartOptions): string {
  const { y, ticks } = scale(o);
  const out = frame(o, y, ticks);
  const gw = (W - M.l - M.r) / o.categories.length;
  const bw = (gw * 0.8) / o.series.length;
  o.categories.forEach((c, ci) => {
    const gx = M.l + ci * gw + gw * 0.1;
    o.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined) return;
      const x = gx + si * bw;
      const top = y(v);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(H - M.b - top).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"/>`,
        `<text x="${(x + bw / 2).toFixed(1)}" y="${(top - 3).toFixed(1)}" text-anchor="middle" font-size="10">${fmt(v)}</text>`,
      );
    });
    out.push(
      `<text x="${(gx + gw * 0.4).toFixed(1)}" y="${H - M.b + 16}" text-anchor="middle">${esc(c)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** lineChart draws each series as a polyline over evenly spaced categories. */
export function lineChart(o: ChartOptions): string {
  const { y, ticks } = scale(o);
  const out = frame(o, y, ticks);
  const n = o.categories.length;
  const x = (i: number): number => M.l + 30 + (i * (W - M.l - M.r - 60)) / Math.max(1, n - 1);
  o.categories.forEach((c, i) => {
    out.push(
      `<text x="${x(i).toFixed(1)}" y="${H - M.b + 16}" text-anchor="middle">${esc(c)}</text>`,
    );
  });
  o.series.forEach((s, si) => {
    const color = COLORS[si % COLORS.length];
    const pts = s.values
      .map((v, i) => (v === undefined ? undefined : `${x(i).toFixed(1)},${y(v).toFixed(1)}`))
      .filter((p): p is string => p !== undefined);
    out.push(
      `<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`,
    );
    for (const p of pts) {
      const [px, py] = p.split(',');
      out.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`);
    }
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
