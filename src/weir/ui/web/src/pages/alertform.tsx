// Creating and editing an alert rule; the API checks it, and each of its messages is shown
// beside the field it names ("threshold: must be a finite number" under the threshold).
import { useState } from "preact/hooks";
import { ApiError, api } from "../api";
import { metricNames } from "../explore/complete";
import { useLoad } from "../hooks";

export const FIELDS = [
  "name", "metric", "statistic", "comparison", "threshold", "period", "evaluation_periods", "datapoints_to_alarm",
  "missing_data", "severity", "enabled", "dimensions", "group_by", "labels", "renotify_seconds", "description",
];

/** The field an API message is about: its first word when that names a field ("period: ...",
 * "dimensions.host: ...", "datapoints_to_alarm (5) must not exceed ..."). */
export function fieldOf(message: string): string | null {
  const m = /^([a-z_]+)/.exec(message);
  return m && FIELDS.includes(m[1]) ? m[1] : null;
}

function pairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(/[,\n]/)) {
    const p = part.trim();
    if (!p) continue;
    const i = p.indexOf("=");
    out[i < 0 ? p : p.slice(0, i).trim()] = i < 0 ? "" : p.slice(i + 1).trim();
  }
  return out;
}

const joinPairs = (d: Record<string, string>) =>
  Object.entries(d || {})
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

export function RuleForm({ rule, onDone }: { rule: any | null; onDone: (saved: boolean) => void }) {
  const [v, setV] = useState<Record<string, any>>(() => ({
    name: rule?.name ?? "",
    metric: rule?.metric ?? "",
    statistic: rule?.statistic ?? "avg",
    comparison: rule?.comparison ?? ">",
    threshold: rule?.threshold ?? "",
    period: rule?.period ?? 60,
    evaluation_periods: rule?.evaluation_periods ?? 1,
    datapoints_to_alarm: rule?.datapoints_to_alarm ?? "",
    missing_data: rule?.missing_data ?? "missing",
    severity: rule?.severity ?? "warning",
    enabled: rule?.enabled ?? true,
    dimensions: joinPairs(rule?.dimensions),
    group_by: (rule?.group_by || []).join(", "),
    labels: joinPairs(rule?.labels),
    renotify_seconds: rule?.renotify_seconds ?? "",
    description: rule?.description ?? "",
  }));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState("");
  const [allowUnknown, setAllowUnknown] = useState(false);
  const [saving, setSaving] = useState(false);
  const names = useLoad(() => metricNames(), []);

  const set = (k: string) => (e: Event) => {
    const t = e.target as HTMLInputElement;
    setV({ ...v, [k]: t.type === "checkbox" ? t.checked : t.value });
  };

  function body(): Record<string, unknown> {
    const numOr = (x: any) => (x === "" || x === null ? undefined : Number.isNaN(Number(x)) ? x : Number(x));
    const out: Record<string, unknown> = {
      name: v.name,
      metric: v.metric,
      statistic: v.statistic,
      comparison: v.comparison,
      threshold: numOr(v.threshold),
      period: numOr(v.period),
      evaluation_periods: numOr(v.evaluation_periods),
      missing_data: v.missing_data,
      severity: v.severity,
      enabled: v.enabled,
      dimensions: pairs(v.dimensions),
      labels: pairs(v.labels),
      description: v.description,
    };
    const n = numOr(v.datapoints_to_alarm);
    if (n !== undefined) out.datapoints_to_alarm = n;
    const r = numOr(v.renotify_seconds);
    if (r !== undefined) out.renotify_seconds = r;
    const g = String(v.group_by).split(",").map((s) => s.trim()).filter(Boolean);
    if (g.length) out.group_by = g;
    return out;
  }

  async function submit(e: Event) {
    e.preventDefault();
    setSaving(true);
    setErrors({});
    setGeneral("");
    try {
      const params = allowUnknown ? { allow_unknown_metric: "true" } : {};
      if (rule) await api("/alerts/" + encodeURIComponent(rule.id), { method: "PUT", body: body(), params });
      else await api("/alerts", { method: "POST", body: body(), params });
      onDone(true);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      const field = err instanceof ApiError ? fieldOf(msg) : null;
      if (field) setErrors({ [field]: msg });
      else setGeneral(msg);
      requestAnimationFrame(() => document.querySelector<HTMLElement>(".rule-form [aria-invalid=true]")?.focus());
    } finally {
      setSaving(false);
    }
  }

  const field = (k: string, label: string, input: any, hint?: string) => (
    <div class={"field" + (errors[k] ? " invalid" : "")} data-field={k}>
      <label for={"f-" + k}>{label}</label>
      {input}
      {hint && !errors[k] && <small class="muted">{hint}</small>}
      {errors[k] && (
        <small class="field-error" role="alert" id={"e-" + k} data-testid={"error-" + k}>
          {errors[k]}
        </small>
      )}
    </div>
  );
  const attrs = (k: string) => ({
    id: "f-" + k,
    name: k,
    "aria-invalid": !!errors[k],
    "aria-describedby": errors[k] ? "e-" + k : undefined,
  });
  const opts = (xs: string[]) => xs.map((x) => <option value={x}>{x}</option>);

  return (
    <form class="rule-form" onSubmit={submit} data-testid="rule-form" noValidate>
      <h2>{rule ? `Edit ${rule.name}` : "New alert rule"}</h2>
      {general && <p class="field-error" role="alert" data-testid="form-error">{general}</p>}
      <div class="grid">
        {field("name", "Name", <input {...attrs("name")} value={v.name} onInput={set("name")} />)}
        {field(
          "metric",
          "Metric",
          <>
            <input {...attrs("metric")} list="metric-names" value={v.metric} onInput={set("metric")} autocomplete="off" />
            <datalist id="metric-names">{(names.data || []).map((n) => <option value={n} />)}</datalist>
          </>,
        )}
        {field("statistic", "Statistic", <select {...attrs("statistic")} value={v.statistic} onChange={set("statistic")}>{opts(["avg", "min", "max", "sum", "count", "p90", "p99", "last"])}</select>)}
        {field("comparison", "Comparison", <select {...attrs("comparison")} value={v.comparison} onChange={set("comparison")}>{opts([">", ">=", "<", "<="])}</select>)}
        {field("threshold", "Threshold", <input {...attrs("threshold")} inputMode="decimal" value={v.threshold} onInput={set("threshold")} />)}
        {field("period", "Period (s)", <input {...attrs("period")} inputMode="numeric" value={v.period} onInput={set("period")} />)}
        {field("evaluation_periods", "Evaluation periods (M)", <input {...attrs("evaluation_periods")} inputMode="numeric" value={v.evaluation_periods} onInput={set("evaluation_periods")} />)}
        {field("datapoints_to_alarm", "Datapoints to alarm (N)", <input {...attrs("datapoints_to_alarm")} inputMode="numeric" placeholder="M" value={v.datapoints_to_alarm} onInput={set("datapoints_to_alarm")} />)}
        {field("missing_data", "Missing data", <select {...attrs("missing_data")} value={v.missing_data} onChange={set("missing_data")}>{opts(["missing", "ignore", "breaching", "not_breaching"])}</select>)}
        {field("severity", "Severity", <select {...attrs("severity")} value={v.severity} onChange={set("severity")}>{opts(["info", "warning", "critical"])}</select>)}
        {field("dimensions", "Dimensions", <input {...attrs("dimensions")} placeholder="region=eu, env=prod" value={v.dimensions} onInput={set("dimensions")} />, "only series with these values")}
        {field("group_by", "Group by", <input {...attrs("group_by")} placeholder="host   (* : each series)" value={v.group_by} onInput={set("group_by")} />, "one state per value")}
        {field("labels", "Labels", <input {...attrs("labels")} placeholder="team=ops" value={v.labels} onInput={set("labels")} />)}
        {field("renotify_seconds", "Renotify every (s)", <input {...attrs("renotify_seconds")} inputMode="numeric" placeholder="never" value={v.renotify_seconds} onInput={set("renotify_seconds")} />)}
        {field("description", "Description", <input {...attrs("description")} value={v.description} onInput={set("description")} />)}
        <div class="field">
          <label class="inline">
            <input type="checkbox" checked={v.enabled} onChange={set("enabled")} /> enabled
          </label>
          <label class="inline">
            <input type="checkbox" checked={allowUnknown} onChange={() => setAllowUnknown(!allowUnknown)} /> allow a
            metric without data yet
          </label>
        </div>
      </div>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={saving} data-testid="save-rule">
          {saving ? "Saving…" : rule ? "Save" : "Create rule"}
        </button>
        <button type="button" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
