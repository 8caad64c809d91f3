// Running the queries of the explore page: PromQL through the Prometheus API when this Weir has
// it, else Weir's own query API; either way the answer becomes the same series shape.
import { ApiError, api, capabilities, promqlMissing } from "../api";
import { QuerySyntaxError, nativeText, parseNative } from "./native";

export interface Series {
  query: number; // which query of the page drew it
  name: string; // as the legend shows it
  labels: Record<string, string>;
  ts: number[]; // epoch seconds, ascending
  vals: number[];
}

export interface QueryError {
  message: string;
  line?: number; // where in the query the error is, when the API says (from 1)
  col?: number;
}

export interface QueryAnswer {
  series: Series[];
  points: number; // as the API answered, before any thinning
  error?: QueryError;
  warnings?: string[];
}

export type Mode = "promql" | "native";

export async function mode(): Promise<Mode> {
  return (await capabilities()).promql ? "promql" : "native";
}

/** "1:5: parse error: ..." → line 1, column 5 (Prometheus' and Weir's positions count from 1). */
export function errorPosition(message: string): { line: number; col: number } | null {
  const m = /(?:^|[\s:"])(\d+):(\d+): (?:parse error|unexpected|syntax error)/.exec(message) ||
    /^(\d+):(\d+):/.exec(message);
  return m ? { line: Number(m[1]), col: Number(m[2]) } : null;
}

function toError(e: unknown): QueryError {
  const message = e instanceof Error ? e.message : String(e);
  const pos = e instanceof QuerySyntaxError ? { line: e.line, col: e.col } : errorPosition(message);
  return pos ? { message, ...pos } : { message };
}

export async function runQuery(
  index: number,
  expr: string,
  start: number,
  end: number,
  step: number,
  lang: Mode,
  signal?: AbortSignal,
): Promise<QueryAnswer> {
  try {
    if (lang === "promql") {
      try {
        return await promql(index, expr, start, end, step, signal);
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404 && !(e.body && e.body.status === "error"))) throw e;
        promqlMissing(); // no Prometheus API after all: Weir's own from now on
      }
    }
    return await native(index, expr, start, end, step, signal);
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    return { series: [], points: 0, error: toError(e) };
  }
}

async function promql(
  index: number,
  expr: string,
  start: number,
  end: number,
  step: number,
  signal?: AbortSignal,
): Promise<QueryAnswer> {
  const r = await api<any>("/api/v1/query_range", { params: { query: expr, start, end, step }, signal });
  const data = r.data || {};
  const out: Series[] = [];
  let points = 0;
  const result: any[] = data.resultType === "matrix" ? data.result : [];
  for (const s of result) {
    const values: [number, string][] = s.values || [];
    const ts = new Array<number>(values.length);
    const vals = new Array<number>(values.length);
    for (let i = 0; i < values.length; i++) {
      ts[i] = Number(values[i][0]);
      vals[i] = Number(values[i][1]);
    }
    points += values.length;
    out.push({ query: index, name: promName(s.metric || {}), labels: s.metric || {}, ts, vals });
  }
  return { series: out, points, warnings: r.warnings };
}

export function promName(labels: Record<string, string>): string {
  const name = labels.__name__ || "";
  const rest = Object.entries(labels)
    .filter(([k]) => k !== "__name__")
    .map(([k, v]) => `${k}="${v}"`)
    .join(", ");
  return name + (rest || !name ? `{${rest}}` : "");
}

async function native(
  index: number,
  expr: string,
  start: number,
  end: number,
  step: number,
  signal?: AbortSignal,
): Promise<QueryAnswer> {
  const q = parseNative(expr);
  const params: Record<string, string | number> = {
    start: Math.floor(start),
    end: Math.ceil(end),
    period: Math.max(1, Math.round(step)),
    stat: q.stat,
  };
  if (q.groupBy) params.group_by = q.groupBy;
  for (const [k, v] of Object.entries(q.dims)) params["dim." + k] = v;
  const r = await api<any>("/metrics/" + encodeURIComponent(q.metric), { params, signal });
  const out: Series[] = [];
  let points = 0;
  for (const g of r.groups || []) {
    const ts: number[] = [];
    const vals: number[] = [];
    for (const p of g.datapoints || []) {
      const v = p[q.stat];
      if (v === null || v === undefined) continue;
      ts.push(Date.parse(p.timestamp) / 1000);
      vals.push(Number(v));
    }
    points += ts.length;
    const labels: Record<string, string> = { __name__: q.metric, ...g.group };
    const group = Object.entries(g.group || {})
      .map(([k, v]) => `${k}="${v}"`)
      .join(", ");
    out.push({ query: index, name: `${q.stat}(${q.metric})` + (group ? `{${group}}` : ""), labels, ts, vals });
  }
  return { series: out, points };
}

/** The query that shows a metric (filtered by dimensions), in the language this Weir speaks. */
export function metricQuery(m: Mode, metric: string, dims: Record<string, string>, groupBy?: string): string {
  if (m === "native") return nativeText({ metric, stat: "avg", groupBy: groupBy || null, dims });
  const plain = /^[A-Za-z_:][A-Za-z0-9_:]*$/.test(metric);
  const matchers = Object.entries(dims).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
  if (plain) return metric + (matchers.length ? `{${matchers.join(", ")}}` : "");
  return `{${[`__name__="${metric}"`, ...matchers].join(", ")}}`;
}
