// From the API's series to what the chart draws: one shared time axis, values aligned to it
// (null where a series has no point), thinned to about two points per pixel column when there
// are more (the minimum and the maximum of the column, so spikes stay visible), and the
// legend's figures per series.
import type { Series } from "./query";

export type Column = (number | null)[];

export interface ChartData {
  xs: number[];
  columns: Column[]; // one per series, aligned with xs
  thinned: boolean;
}

export function align(series: Series[]): ChartData {
  const seen = new Set<number>();
  for (const s of series) for (const t of s.ts) seen.add(t);
  const xs = Array.from(seen).sort((a, b) => a - b);
  const index = new Map<number, number>();
  xs.forEach((t, i) => index.set(t, i));
  const columns = series.map((s) => {
    const col: Column = new Array(xs.length).fill(null);
    for (let i = 0; i < s.ts.length; i++) col[index.get(s.ts[i])!] = s.vals[i];
    return col;
  });
  return { xs, columns, thinned: false };
}

/** At most 2 x `pixels` time positions: each bucket of the axis keeps, per series, its minimum
 * and its maximum (in the order they occur). */
export function thin(data: ChartData, pixels: number): ChartData {
  const n = data.xs.length;
  const buckets = Math.max(1, Math.floor(pixels));
  if (n <= 2 * buckets) return data;
  const xs: number[] = [];
  const columns: Column[] = data.columns.map(() => []);
  const per = n / buckets;
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor(b * per);
    const hi = Math.min(n, Math.floor((b + 1) * per));
    if (hi <= lo) continue;
    xs.push(data.xs[lo], data.xs[hi - 1]);
    data.columns.forEach((col, c) => {
      let min = Infinity;
      let max = -Infinity;
      let iMin = -1;
      let iMax = -1;
      for (let i = lo; i < hi; i++) {
        const v = col[i];
        if (v === null || Number.isNaN(v)) continue;
        if (v < min) (min = v), (iMin = i);
        if (v > max) (max = v), (iMax = i);
      }
      const out = columns[c];
      if (iMin < 0) out.push(null, null);
      else if (iMin <= iMax) out.push(min, max);
      else out.push(max, min);
    });
  }
  return { xs, columns, thinned: true };
}

/** Cumulative sums of the shown series (hidden ones add nothing), for the stacked view. */
export function stack(columns: Column[], shown: boolean[]): Column[] {
  const out: Column[] = [];
  let acc: number[] | null = null;
  columns.forEach((col, c) => {
    if (!shown[c]) {
      out.push(col);
      return;
    }
    const base: number[] = acc || new Array(col.length).fill(0);
    const sum: Column = col.map((v, i) => (v === null ? null : base[i] + v));
    acc = base.map((b, i) => (col[i] === null ? b : b + (col[i] as number)));
    out.push(sum);
  });
  return out;
}

export interface Figures {
  min: number | null;
  max: number | null;
  avg: number | null;
  last: number | null;
  lastAt: number | null;
  points: number;
}

export function figures(s: Series): Figures {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  for (const v of s.vals) {
    if (Number.isNaN(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    n++;
  }
  const k = s.vals.length - 1;
  return {
    min: n ? min : null,
    max: n ? max : null,
    avg: n ? sum / n : null,
    last: k >= 0 ? s.vals[k] : null,
    lastAt: k >= 0 ? s.ts[k] : null,
    points: s.vals.length,
  };
}

const PALETTE = [
  "#2a7de1", "#e8743b", "#19a979", "#d64550", "#945ecf", "#13a4b4", "#c7a800", "#e85aa6",
  "#6c8893", "#8fa23a", "#b56a2f", "#4f6fd1",
];

export function color(i: number): string {
  if (i < PALETTE.length) return PALETTE[i];
  const hue = (i * 137.508) % 360; // the golden angle spreads any number of series
  return `hsl(${hue.toFixed(0)} 62% 50%)`;
}
