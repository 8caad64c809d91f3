// /ui/status: what GET /status says, every five seconds.
import { api, debug } from "../api";
import { bytes, duration, num, time } from "../format";
import { useLoad } from "../hooks";

export function Status() {
  const { data: s, error } = useLoad(async (signal) => {
    const got = await api<any>("/status", { signal });
    debug.status = got;
    return got;
  }, [], 5000);
  if (error) return <section><h1>Status</h1><p class="field-error" role="alert">{error}</p></section>;
  if (!s) return <section><h1>Status</h1><p class="muted">Loading…</p></section>;
  const lim = s.limits || {};
  const ex = s.exports;
  return (
    <section class="status">
      <div class="toolbar">
        <h1>Status</h1>
        <span class={"badge " + (s.ready ? "ok" : "warn")}>{s.ready ? "ready" : "starting"}</span>
        <span class="muted small">refreshes every 5 s</span>
      </div>
      <div class="cards" data-testid="status-cards">
        <Card title="Version" value={s.version} note={`${s.backend} · ${s.environment}`} />
        <Card title="Uptime" value={duration(s.uptime_seconds)} note={"since " + time(s.started_at)} />
        <Card title="Ingest rate" value={num(s.ingest_rate, 3) + " points/s"} note={`${num(s.points_ingested)} points since start`} />
        <Card title="Series" value={num(s.series)} note={`${num(s.metrics)} metrics`} />
        <Card title="Points held" value={s.points_held === null ? "–" : num(s.points_held)} note={s.points_held === null ? "not counted on this backend" : ""} />
        <Card title="Disk used" value={bytes(s.disk_bytes)} note={s.disk_bytes === null ? "no data folder here" : "data folder, watched files aside"} />
        <Card title="Retention" value={duration(s.retention_seconds)} />
        <Card
          title="Last exported hour"
          value={ex ? (ex.last_exported_hour ? time(ex.last_exported_hour) : "none yet") : "–"}
          note={ex ? (ex.consecutive_failures ? `${ex.consecutive_failures} failures in a row: ${ex.last_error}` : "no failures") : "exports not run here"}
          bad={!!ex?.consecutive_failures}
        />
        <Card title="Alert rules" value={s.alert_rules === null ? "–" : String(s.alert_rules)} />
      </div>
      <h2>Limits</h2>
      <table class="data kv" data-testid="limits">
        <tbody>
          <tr><th>points per request</th><td>{num(lim.max_points_per_request)}</td></tr>
          <tr><th>body size</th><td>{bytes(lim.max_body_bytes)}</td></tr>
          <tr><th>dimensions per point</th><td>{lim.max_dimensions}</td></tr>
          <tr><th>name length</th><td>{lim.max_name_length}</td></tr>
          <tr><th>timestamps ahead of now</th><td>{duration(lim.max_future_seconds)}</td></tr>
          <tr><th>points per query</th><td>{num(lim.max_points_per_query)}</td></tr>
          <tr><th>periods per query</th><td>{num(lim.max_periods_per_query)}</td></tr>
          <tr><th>rate limit</th><td>{lim.rate_limit_per_second ? `${lim.rate_limit_per_second} requests/s per key` : "none"}</td></tr>
          <tr><th>API keys</th><td>{lim.api_keys === null ? "checked by the platform" : lim.api_keys ? "required" + (lim.open_reads ? " for writes (reads open)" : "") : "none configured (open)"}</td></tr>
        </tbody>
      </table>
      {ex && <p class="muted small">Exports go to <span class="mono">{ex.destination}</span>.</p>}
    </section>
  );
}

function Card({ title, value, note, bad }: { title: string; value: string; note?: string; bad?: boolean }) {
  return (
    <div class={"card" + (bad ? " bad" : "")}>
      <div class="card-title">{title}</div>
      <div class="card-value">{value}</div>
      {note && <div class="card-note muted small">{note}</div>}
    </div>
  );
}
