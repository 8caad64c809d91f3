// /ui/explore: queries, a time range, a chart (or a table) of what they answer. Everything that
// decides the view is in the URL: /ui/explore?query=<expr>&query=<expr2>&start=-1h&end=now
// &step=&refresh=30s&stacked=1&view=table.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { debug } from "../api";
import { num, time } from "../format";
import { navigate } from "../router";
import { Chart } from "../explore/chart";
import { figures } from "../explore/data";
import { Editor } from "../explore/editor";
import { type Mode, type QueryAnswer, type Series, mode as detectMode, runQuery } from "../explore/query";
import { RangePicker } from "../explore/range";
import { formatStep, isRelative, parseDuration, resolveTime, stepFor } from "../explore/time";

interface Props {
  params: URLSearchParams;
  theme: string;
}

export function Explore({ params, theme }: Props) {
  const queries = params.getAll("query");
  const start = params.get("start") || "-1h";
  const end = params.get("end") || "now";
  const stepParam = params.get("step") || "";
  const refresh = params.get("refresh") || "off";
  const stacked = params.get("stacked") === "1";
  const view = params.get("view") === "table" ? "table" : "graph";
  const [drafts, setDrafts] = useState<string[]>(queries.length ? queries : [""]);
  const [detected, setDetected] = useState<Mode | null>(null);
  // PromQL when this Weir has the Prometheus API, unless the URL asks for Weir's own language.
  const m: Mode | null = detected === null ? null : params.get("lang") === "weir" ? "native" : detected;
  const [answers, setAnswers] = useState<QueryAnswer[]>([]);
  const [busy, setBusy] = useState(false);
  const [rangeError, setRangeError] = useState("");
  const [pixels, setPixels] = useState(0);
  const [tick, setTick] = useState(0);
  const [ranAt, setRanAt] = useState<number | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const key = params.toString();

  useEffect(() => {
    detectMode().then(setDetected, () => setDetected("native"));
  }, []);
  useEffect(() => setDrafts(queries.length ? queries : [""]), [queries.join("\u0000")]);

  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => setPixels(Math.max(200, el.clientWidth - 80)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const now = useMemo(() => Date.now() / 1000, [key, tick]);
  const t0 = resolveTime(start, now);
  const t1 = resolveTime(end, now);
  const autoStep = t0 !== null && t1 !== null && pixels ? stepFor(t0, t1, pixels) : 60;
  const step = stepParam ? parseDuration(stepParam) : autoStep;

  function update(changes: Record<string, string | string[] | null>, replace = false) {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      next.delete(k);
      if (Array.isArray(v)) v.forEach((x) => next.append(k, x));
      else if (v !== null && v !== "") next.set(k, v);
    }
    for (const [k, dflt] of [["end", "now"], ["refresh", "off"], ["view", "graph"], ["stacked", "0"]]) {
      if (next.get(k) === dflt) next.delete(k);
    }
    navigate("explore", next, replace);
  }

  function run() {
    const qs = drafts.map((d) => d.trim()).filter(Boolean);
    if (qs.join("\u0000") === queries.join("\u0000")) setTick((t) => t + 1);
    else update({ query: qs });
  }

  // Run the URL's queries whenever the URL, the step or the refresh tick changes.
  useEffect(() => {
    if (!m || !pixels) return;
    debug.explore = { status: "loading", mode: m };
    if (t0 === null || t1 === null || t1 <= t0 || step === null || step <= 0) {
      setRangeError(step === null ? `step "${stepParam}" is not a duration (try 30s, 5m)` : "the time range is not valid");
      debug.explore = { status: "error", mode: m };
      return;
    }
    setRangeError("");
    if (!queries.length) {
      setAnswers([]);
      debug.explore = { status: "idle", mode: m };
      return;
    }
    const ctl = new AbortController();
    setBusy(true);
    const asked = performance.now();
    Promise.all(queries.map((q, i) => runQuery(i, q, t0, t1, step, m, ctl.signal)))
      .then((got) => {
        setAnswers(got);
        setRanAt(Date.now());
        debug.explore = {
          status: "done",
          mode: m,
          start: t0,
          end: t1,
          step,
          queries: got.map((a, i) => ({ expr: queries[i], series: a.series.length, points: a.points, error: a.error })),
          asked_ms: asked, // performance.now() when the queries were sent, and when their answers were parsed
          answered_ms: performance.now(),
        };
      })
      .catch(() => {})
      .finally(() => setBusy(false));
    return () => ctl.abort();
  }, [key, m, pixels ? step : 0, tick]);

  useEffect(() => {
    const every = refresh === "off" ? null : parseDuration(refresh);
    if (!every || !isRelative(end)) return;
    const id = setInterval(() => setTick((t) => t + 1), every * 1000);
    return () => clearInterval(id);
  }, [refresh, end]);

  const series: Series[] = useMemo(() => answers.flatMap((a) => a.series), [answers]);

  function zoom(a: number, b: number) {
    update({ start: String(a), end: String(b) });
  }

  function zoomOut() {
    if (t0 === null || t1 === null) return;
    const w = t1 - t0;
    const nowS = Math.floor(Date.now() / 1000);
    const b = Math.min(nowS, Math.round(t1 + w / 2));
    update({ start: String(Math.round(b - 2 * w)), end: b >= nowS ? "now" : String(b) });
  }

  return (
    <section class="explore" ref={box}>
      <div class="toolbar">
        <h1>Explore</h1>
        {detected === "promql" ? (
          <select
            aria-label="Query language"
            data-testid="query-mode"
            value={m || "promql"}
            onChange={(e) => update({ lang: (e.target as HTMLSelectElement).value === "native" ? "weir" : null })}
          >
            <option value="promql">PromQL</option>
            <option value="native">Weir's query API</option>
          </select>
        ) : (
          <span class="muted small" data-testid="query-mode">
            {m === "native" ? "Weir's query API" : ""}
          </span>
        )}
        <span class="spacer" />
        <RangePicker
          start={start}
          end={end}
          step={stepParam}
          refresh={refresh}
          autoStep={autoStep}
          onChange={(c) => update(c as Record<string, string>)}
        />
        <button onClick={zoomOut} title="Zoom out (twice the range)">−</button>
      </div>
      <div class="queries">
        {drafts.map((d, i) => (
          <Editor
            key={i}
            index={i}
            value={d}
            promql={m === "promql"}
            error={answers[i]?.error}
            onChange={(v) => setDrafts((old) => old.map((x, j) => (j === i ? v : x)))}
            onRun={run}
            onRemove={
              drafts.length > 1
                ? () => {
                    const next = drafts.filter((_, j) => j !== i);
                    setDrafts(next);
                    update({ query: next.map((x) => x.trim()).filter(Boolean) });
                  }
                : undefined
            }
          />
        ))}
        <div class="query-actions">
          <button class="primary" onClick={run} data-testid="run">
            {busy ? "Running…" : "Run"}
          </button>
          <button onClick={() => setDrafts([...drafts, ""])}>+ Query</button>
          <span class="spacer" />
          <div class="segmented" role="group" aria-label="View">
            <button aria-pressed={view === "graph"} onClick={() => update({ view: "graph" })}>Graph</button>
            <button aria-pressed={view === "table"} onClick={() => update({ view: "table" })}>Table</button>
          </div>
          <label class="inline">
            <input type="checkbox" checked={stacked} onChange={() => update({ stacked: stacked ? null : "1" })} />
            stacked
          </label>
        </div>
      </div>
      {rangeError && <p class="field-error">{rangeError}</p>}
      {m === "native" && !queries.length && <NativeHelp />}
      <p class="muted small result-line">
        {ranAt && `${series.length} series, ${answers.reduce((n, a) => n + a.points, 0)} points, step ${formatStep(step || 0)}`}
        {answers.flatMap((a) => a.warnings || []).map((w) => (
          <span class="warning"> {w}</span>
        ))}
      </p>
      {view === "graph" ? (
        series.length ? (
          <Chart series={series} stacked={stacked} theme={theme} onZoom={zoom} />
        ) : (
          queries.length > 0 && ranAt && !answers.some((a) => a.error) && <p class="empty">No data in this range.</p>
        )
      ) : (
        <SeriesTable series={series} />
      )}
    </section>
  );
}

function NativeHelp() {
  return (
    <div class="help">
      <p>
        This Weir answers queries with its own API: <code>stat(metric{"{"}key="value"{"}"}) by (key)</code>, for
        example <code>max(cpu{"{"}region="eu"{"}"}) by (host)</code>. Statistics: avg, min, max, sum, count, p50,
        p90, p99. Start typing a metric name for suggestions.
      </p>
    </div>
  );
}

function SeriesTable({ series }: { series: Series[] }) {
  const [sort, setSort] = useState<"name" | "last">("name");
  const rows = series.map((s) => ({ s, f: figures(s) }));
  if (sort === "last") rows.sort((a, b) => (b.f.last ?? -Infinity) - (a.f.last ?? -Infinity));
  return (
    <div class="table-wrap">
      <table class="data" data-testid="series-table">
        <thead>
          <tr>
            <th>
              <button class="link" onClick={() => setSort("name")}>series</button>
            </th>
            <th>
              <button class="link" onClick={() => setSort("last")}>last</button>
            </th>
            <th>at</th>
            <th>min</th>
            <th>max</th>
            <th>avg</th>
            <th>points</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ s, f }) => (
            <tr>
              <td class="mono">{s.name || "{}"}</td>
              <td>{num(f.last)}</td>
              <td>{time(f.lastAt)}</td>
              <td>{num(f.min)}</td>
              <td>{num(f.max)}</td>
              <td>{num(f.avg)}</td>
              <td>{f.points}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!series.length && <p class="empty">No series.</p>}
    </div>
  );
}
