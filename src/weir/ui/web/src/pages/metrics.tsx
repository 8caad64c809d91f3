// /ui/: every metric with its series count and type, a search, and for the chosen metric a
// browser of its series by dimension values; one click opens a chart of what is chosen.
import { useMemo, useState } from "preact/hooks";
import { api, capabilities, debug } from "../api";
import { useLoad } from "../hooks";
import { href, navigate } from "../router";
import { type Mode, metricQuery, mode as detectMode } from "../explore/query";

interface MetricRow {
  name: string;
  series: number;
  type?: string;
  help?: string;
}

async function loadMetrics(signal: AbortSignal): Promise<{ rows: MetricRow[]; mode: Mode }> {
  const [list, caps, m] = await Promise.all([api<any>("/metrics", { signal }), capabilities(), detectMode()]);
  const rows: MetricRow[] = list.metrics || [];
  if (caps.metadata) {
    try {
      const meta = (await api<any>("/api/v1/metadata", { signal })).data || {};
      for (const r of rows) {
        const entry = meta[r.name]?.[0];
        if (entry) {
          r.type = entry.type;
          r.help = entry.help;
        }
      }
    } catch {
      /* types are a nicety: the list stands without them */
    }
  }
  return { rows, mode: m };
}

export function Metrics({ params }: { params: URLSearchParams }) {
  const [search, setSearch] = useState(params.get("q") || "");
  const selected = params.get("metric");
  const { data, error, loading, reload } = useLoad(loadMetrics, []);
  const rows = useMemo(() => {
    const all = data?.rows || [];
    const s = search.trim().toLowerCase();
    const found = s ? all.filter((r) => r.name.toLowerCase().includes(s)) : all;
    debug.metrics = { total: all.length, shown: found.length };
    return found;
  }, [data, search]);

  return (
    <section class="metrics">
      <div class="toolbar">
        <h1>Metrics</h1>
        <span class="muted small">{data && `${data.rows.length} metrics, ${data.rows.reduce((n, r) => n + r.series, 0)} series`}</span>
        <span class="spacer" />
        <input
          type="search"
          data-search
          placeholder="Search metrics  ( / )"
          aria-label="Search metrics"
          value={search}
          onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
        />
        <button onClick={reload} title="Load the list again">↻</button>
      </div>
      {error && <p class="field-error" role="alert">{error}</p>}
      <div class={"split" + (selected ? " with-detail" : "")}>
        <div class="table-wrap list">
          <table class="data" data-testid="metric-list">
            <thead>
              <tr>
                <th>metric</th>
                <th class="num">series</th>
                <th>type</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr class={r.name === selected ? "selected" : ""}>
                  <td>
                    <a href={href("", { metric: r.name, ...(search ? { q: search } : {}) })} class="mono" title={r.help}>
                      {r.name}
                    </a>
                  </td>
                  <td class="num">{r.series}</td>
                  <td>{r.type || <span class="muted">–</span>}</td>
                  <td>
                    <a class="button small" href={href("explore", { query: metricQuery(data!.mode, r.name, {}) })}
                      aria-label={`Explore ${r.name}`}>
                      Explore
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {!loading && data && !data.rows.length && (
            <div class="empty">
              <p>No metrics yet. Send one:</p>
              <pre>{`curl -s -X POST ${location.origin}${href("").replace(/ui\/$/, "")}metrics \\\n  -H 'Content-Type: application/json' \\\n  -d '{"name": "cpu", "value": 42.5, "dimensions": {"host": "web-1"}}'`}</pre>
            </div>
          )}
          {data && data.rows.length > 0 && !rows.length && <p class="empty">No metric matches “{search}”.</p>}
        </div>
        {selected && data && <SeriesBrowser metric={selected} params={params} mode={data.mode} />}
      </div>
    </section>
  );
}

const SHOW_SERIES = 200;

function SeriesBrowser({ metric, params, mode }: { metric: string; params: URLSearchParams; mode: Mode }) {
  const filters: Record<string, string> = {};
  params.forEach((v, k) => {
    if (k.startsWith("dim.")) filters[k.slice(4)] = v;
  });
  const filterKey = JSON.stringify(filters);
  const { data, error } = useLoad(
    (signal) => api<any>("/metrics/" + encodeURIComponent(metric) + "/series", { signal }),
    [metric],
  );
  const all: any[] = data?.series || [];
  const matching = all.filter((s) => Object.entries(filters).every(([k, v]) => s.dimensions[k] === v));
  const facets = useMemo(() => {
    const out: Record<string, Map<string, number>> = {};
    for (const s of matching)
      for (const [k, v] of Object.entries(s.dimensions as Record<string, string>)) {
        (out[k] ||= new Map()).set(v, (out[k].get(v) || 0) + 1);
      }
    return out;
  }, [data, filterKey]);
  debug.series = { metric, total: all.length, matching: matching.length };

  function setFilter(k: string, v: string | null) {
    const next = new URLSearchParams(params);
    if (v === null) next.delete("dim." + k);
    else next.set("dim." + k, v);
    navigate("", next);
  }

  const types = Array.from(new Set(all.map((s) => s.type)));
  const units = Array.from(new Set(all.map((s) => s.unit).filter(Boolean)));
  const keys = Object.keys(facets).sort();
  const oneKey = keys.filter((k) => !(k in filters));
  const query = metricQuery(mode, metric, filters, mode === "native" && oneKey.length === 1 ? oneKey[0] : undefined);
  return (
    <aside class="detail" aria-label={`Series of ${metric}`} data-testid="series-browser">
      <div class="detail-head">
        <h2 class="mono">{metric}</h2>
        <a class="button small" href={href("", params.get("q") ? { q: params.get("q")! } : {})} aria-label="Close">
          ×
        </a>
      </div>
      {error && <p class="field-error">{error}</p>}
      <p class="muted small">
        {matching.length} of {all.length} series · type {types.join(", ") || "–"}
        {units.length > 0 && ` · unit ${units.join(", ")}`}
      </p>
      <p>
        <a class="button primary" href={href("explore", { query })} data-testid="explore-selection">
          Explore {Object.keys(filters).length ? "these series" : "this metric"}
        </a>
      </p>
      {Object.keys(filters).length > 0 && (
        <p class="chips">
          {Object.entries(filters).map(([k, v]) => (
            <button class="chip on" onClick={() => setFilter(k, null)} aria-label={`Remove filter ${k}=${v}`}>
              {k}={v} ×
            </button>
          ))}
        </p>
      )}
      {keys.map((k) => {
        const values = Array.from(facets[k].entries()).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
        return (
          <details open={values.length <= 12 || k in filters}>
            <summary>
              <span class="mono">{k}</span> <span class="muted small">{values.length} values</span>
            </summary>
            <p class="chips">
              {values.slice(0, 100).map(([v, n]) => (
                <button
                  class={filters[k] === v ? "chip on" : "chip"}
                  aria-pressed={filters[k] === v}
                  onClick={() => setFilter(k, filters[k] === v ? null : v)}
                >
                  {v} <span class="muted">{n}</span>
                </button>
              ))}
              {values.length > 100 && <span class="muted small">and {values.length - 100} more</span>}
            </p>
          </details>
        );
      })}
      <h3>Series</h3>
      <ul class="series-list">
        {matching.slice(0, SHOW_SERIES).map((s) => (
          <li>
            <a href={href("explore", { query: metricQuery(mode, metric, s.dimensions) })} class="mono small">
              {Object.entries(s.dimensions as Record<string, string>)
                .map(([k, v]) => `${k}=${v}`)
                .join(", ") || "(no dimensions)"}
            </a>
          </li>
        ))}
      </ul>
      {matching.length > SHOW_SERIES && (
        <p class="muted small">The first {SHOW_SERIES} are listed; choose dimension values to narrow.</p>
      )}
    </aside>
  );
}
