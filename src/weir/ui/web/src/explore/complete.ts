// What to offer while typing a query: metric names, then label names inside {...}, then label
// values after `label="`; fetched from the API (the Prometheus label API when there, else Weir's
// /metrics and /metrics/<name>/series) and kept for a minute.
import { api, capabilities } from "../api";

export interface Context {
  kind: "metric" | "label" | "value";
  word: string; // what is typed so far of the item
  from: number; // where it starts in the text
  metric: string | null; // the selector's metric, for labels and values
  label?: string;
}

const FUNCS = [
  "rate", "irate", "increase", "delta", "idelta", "deriv", "sum", "avg", "min", "max", "count", "stddev", "stdvar",
  "topk", "bottomk", "quantile", "count_values", "group", "sum_over_time", "avg_over_time", "min_over_time",
  "max_over_time", "count_over_time", "last_over_time", "quantile_over_time", "stddev_over_time", "present_over_time",
  "absent", "absent_over_time", "abs", "ceil", "floor", "round", "clamp", "clamp_min", "clamp_max", "exp", "ln",
  "log2", "log10", "sqrt", "histogram_quantile", "label_replace", "label_join", "sort", "sort_desc", "time",
  "timestamp", "vector", "scalar", "changes", "resets", "predict_linear", "holt_winters", "by", "without", "offset",
];

export function context(text: string, cursor: number): Context | null {
  const before = text.slice(0, cursor);
  const open = before.lastIndexOf("{");
  if (open > before.lastIndexOf("}")) {
    const inside = before.slice(open + 1);
    const metricM = /([A-Za-z_:][\w:.\-]*)\s*$/.exec(before.slice(0, open));
    const metric = metricM ? metricM[1] : nameMatcher(inside);
    const value = /([A-Za-z_][\w.\-]*)\s*(?:=~|!~|!=|=)\s*"([^"]*)$/.exec(inside);
    if (value) return { kind: "value", word: value[2], from: cursor - value[2].length, metric, label: value[1] };
    const label = /(?:^|,)\s*([A-Za-z_][\w.\-]*)?$/.exec(inside);
    if (label) {
      const word = label[1] || "";
      return { kind: "label", word, from: cursor - word.length, metric };
    }
    return null;
  }
  const m = /[A-Za-z_:][\w:.\-]*$/.exec(before);
  if (!m) return null;
  if (/["\d]$/.test(before.slice(0, m.index))) return null;
  return { kind: "metric", word: m[0], from: m.index, metric: null };
}

function nameMatcher(inside: string): string | null {
  const m = /__name__\s*=\s*"([^"]+)"/.exec(inside);
  return m ? m[1] : null;
}

const cache = new Map<string, { at: number; items: Promise<string[]> }>();

function cached(key: string, load: () => Promise<string[]>): Promise<string[]> {
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < 60_000) return hit.items;
  const items = load().catch(() => [] as string[]);
  cache.set(key, { at: Date.now(), items });
  return items;
}

async function seriesDims(metric: string): Promise<Record<string, string>[]> {
  const r = await api<any>("/metrics/" + encodeURIComponent(metric) + "/series");
  return (r.series || []).map((s: any) => s.dimensions || {});
}

export function metricNames(): Promise<string[]> {
  return cached("names", async () => {
    if ((await capabilities()).promql) return (await api<any>("/api/v1/label/__name__/values")).data || [];
    return ((await api<any>("/metrics")).metrics || []).map((m: any) => m.name);
  });
}

export function labelNames(metric: string | null): Promise<string[]> {
  return cached("labels:" + metric, async () => {
    if ((await capabilities()).promql) {
      const params = metric ? { "match[]": matchOf(metric) } : {};
      return ((await api<any>("/api/v1/labels", { params })).data || []).filter((l: string) => l !== "__name__");
    }
    if (!metric) return [];
    const keys = new Set<string>();
    (await seriesDims(metric)).forEach((d) => Object.keys(d).forEach((k) => keys.add(k)));
    return Array.from(keys).sort();
  });
}

export function labelValues(metric: string | null, label: string): Promise<string[]> {
  return cached(`values:${metric}:${label}`, async () => {
    if ((await capabilities()).promql) {
      const params = metric ? { "match[]": matchOf(metric) } : {};
      return (await api<any>("/api/v1/label/" + encodeURIComponent(label) + "/values", { params })).data || [];
    }
    if (!metric) return [];
    const values = new Set<string>();
    (await seriesDims(metric)).forEach((d) => d[label] !== undefined && values.add(d[label]));
    return Array.from(values).sort();
  });
}

function matchOf(metric: string): string {
  return /^[A-Za-z_:][A-Za-z0-9_:]*$/.test(metric) ? metric : `{__name__="${metric}"}`;
}

export async function suggestions(ctx: Context, promql: boolean, stats: string[]): Promise<string[]> {
  let items: string[];
  if (ctx.kind === "metric") {
    items = [...(await metricNames()), ...(promql ? FUNCS : [...stats, "by"])];
  } else if (ctx.kind === "label") {
    items = await labelNames(ctx.metric);
  } else {
    items = await labelValues(ctx.metric, ctx.label!);
  }
  const w = ctx.word.toLowerCase();
  const starts = items.filter((s) => s.toLowerCase().startsWith(w));
  const contains = w ? items.filter((s) => !s.toLowerCase().startsWith(w) && s.toLowerCase().includes(w)) : [];
  const out = Array.from(new Set([...starts, ...contains]));
  return out.filter((s) => s !== ctx.word).slice(0, 50);
}
