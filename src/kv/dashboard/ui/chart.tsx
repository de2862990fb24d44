/** Chart: a uPlot time-series chart as a Preact component. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** ChartSeries is one line of a chart. */
export interface ChartSeries {
  label: string;
  color: string;
  dash?: number[];
  values: (number | null)[];
}

/** ChartProps: x values are unix seconds, one per point of every series. */
export interface ChartProps {
  title: string;
  unit: string;
  xs: number[];
  series: ChartSeries[];
  height?: number;
  /** log: a logarithmic y axis (for latencies). */
  log?: boolean;
  testId?: string;
}

/** decades returns the powers of ten in [min, max]. */
function decades(min: number, max: number): number[] {
  const out: number[] = [];
  const lo = Math.ceil(Math.log10(Math.max(min, 1e-6)) - 1e-9);
  const hi = Math.floor(Math.log10(Math.max(max, 1e-6)) + 1e-9);
  for (let e = lo; e <= hi; e++) out.push(10 ** e);
  return out;
}

/** timeOfDay formats unix seconds as 14:03:21. */
function timeOfDay(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** tick formats an axis value: 0.5, 10, 2.5k. */
function tick(v: number): string {
  if (Math.abs(v) >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
}

function options(p: ChartProps, width: number): uPlot.Options {
  return {
    width,
    height: p.height ?? 180,
    padding: [10, 12, 0, 0],
    cursor: { drag: { x: false, y: false } },
    legend: { show: true, live: false },
    scales: {
      x: { time: true },
      y:
        p.log === true
          ? { distr: 3, log: 10 }
          : { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
    },
    axes: [
      {
        stroke: '#64748b',
        grid: { stroke: '#eef2f7' },
        ticks: { stroke: '#e2e8f0' },
        space: 64,
        size: 32,
        values: (_u, vals) => vals.map((v) => (v == null ? '' : timeOfDay(v))),
      },
      {
        stroke: '#64748b',
        grid: { stroke: '#eef2f7' },
        ticks: { stroke: '#e2e8f0' },
        size: 48,
        values: (_u, vals) => vals.map((v) => (v == null ? '' : tick(v))),
        // On a log axis only the powers of ten get a label and a grid line.
        ...(p.log === true
          ? { splits: (_u: uPlot, _i: number, min: number, max: number) => decades(min, max) }
          : {}),
      },
    ],
    series: [
      {},
      ...p.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        spanGaps: false,
        points: { show: false },
        ...(s.dash !== undefined ? { dash: s.dash } : {}),
      })),
    ],
  };
}

/** Chart renders p with uPlot, sized to its container's width. */
export function Chart(p: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = p.series.map((s) => `${s.label}|${s.color}`).join(',');

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const u = new uPlot(options(p, el.clientWidth), [p.xs, ...p.series.map((s) => s.values)], el);
    plot.current = u;
    const ro = new ResizeObserver(() =>
      u.setSize({ width: el.clientWidth, height: p.height ?? 180 }),
    );
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The chart is rebuilt when its series change; data updates go through setData.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([p.xs, ...p.series.map((s) => s.values)]);
  });

  return (
    <div class="chart" data-testid={p.testId}>
      <div class="chart-title">
        {p.title} <span class="unit">{p.unit}</span>
      </div>
      <div ref={box} class="chart-box" />
    </div>
  );
}
