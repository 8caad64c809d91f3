// /ui/alerts: rules with the state of each group, a rule's transitions, every notification and
// how its deliveries went, webhook subscriptions. ?edit=<id> or ?edit=new opens the form,
// ?rule=<id> a rule's history.
import { useState } from "preact/hooks";
import { api, debug } from "../api";
import { ago, num, time } from "../format";
import { useLoad } from "../hooks";
import { href, navigate } from "../router";
import { RuleForm } from "./alertform";

function condition(r: any): string {
  const dims = Object.entries(r.dimensions || {}).map(([k, v]) => `${k}="${v}"`).join(", ");
  const n = r.datapoints_to_alarm;
  const m = r.evaluation_periods;
  return (
    `${r.statistic}(${r.metric}${dims ? "{" + dims + "}" : ""}) ${r.comparison} ${num(r.threshold)}` +
    ` for ${n === m ? m : `${n} of ${m}`} × ${r.period}s` +
    (r.group_by ? ` by ${r.group_by.join(", ")}` : "")
  );
}

function groupText(g: Record<string, string>): string {
  const s = Object.entries(g || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  return s || "all";
}

export function Alerts({ params }: { params: URLSearchParams }) {
  const edit = params.get("edit");
  const open = params.get("rule");
  const rules = useLoad(async (signal) => {
    const got = await api<any>("/alerts", { signal });
    debug.alerts = got.alerts.map((r: any) => ({ id: r.id, name: r.name }));
    return got.alerts as any[];
  }, [], 15000);
  const [busy, setBusy] = useState("");
  const editing = edit && edit !== "new" ? rules.data?.find((r) => r.id === edit) : null;

  async function remove(r: any) {
    if (!confirm(`Delete the rule “${r.name}”? Its past events stay listed.`)) return;
    setBusy(r.id);
    try {
      await api("/alerts/" + encodeURIComponent(r.id), { method: "DELETE" });
      rules.reload();
    } catch (e) {
      alert(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy("");
    }
  }

  const close = (saved: boolean) => {
    navigate("alerts", {});
    if (saved) rules.reload();
  };

  return (
    <section class="alerts">
      <div class="toolbar">
        <h1>Alerts</h1>
        <span class="muted small">{rules.data && `${rules.data.length} rules`}</span>
        <span class="spacer" />
        <a class="button primary" href={href("alerts", { edit: "new" })} data-testid="new-rule">
          + New rule
        </a>
      </div>
      {rules.error && <p class="field-error" role="alert">{rules.error}</p>}
      {edit && (edit === "new" || editing) && <RuleForm key={edit} rule={editing || null} onDone={close} />}
      <div class="rules" data-testid="rules">
        {rules.data?.map((r) => (
          <article class={"rule" + (r.enabled ? "" : " disabled")} data-rule-id={r.id}>
            <header>
              <h2>{r.name}</h2>
              <span class={"badge sev-" + r.severity}>{r.severity}</span>
              {!r.enabled && <span class="badge">disabled</span>}
              <span class="spacer" />
              <a class="button small" href={href("alerts", { rule: r.id })}>History</a>
              <a class="button small" href={href("alerts", { edit: r.id })}>Edit</a>
              <button class="small danger" disabled={busy === r.id} onClick={() => remove(r)} aria-label={`Delete ${r.name}`}>
                Delete
              </button>
            </header>
            <p class="mono small">{condition(r)}</p>
            {r.description && <p class="small">{r.description}</p>}
            <div class="states">
              {r.states.length === 0 && <span class="muted small">not evaluated yet</span>}
              {r.states.map((s: any) => (
                <span class={"state st-" + s.state} title={s.reason}>
                  <strong>{s.state}</strong> {groupText(s.group)}
                  {s.value !== null && s.value !== undefined && <> · {num(s.value)}</>}
                  <span class="muted"> · {ago(s.since)}</span>
                </span>
              ))}
            </div>
            {r.last_evaluated && <p class="muted small">evaluated {ago(r.last_evaluated)}</p>}
            {open === r.id && <History ruleId={r.id} />}
          </article>
        ))}
        {rules.data && !rules.data.length && !edit && (
          <p class="empty">No alert rules. Create one with “New rule”, or <code>weir alerts add</code>.</p>
        )}
      </div>
      <Events />
      <Subscriptions />
    </section>
  );
}

function History({ ruleId }: { ruleId: string }) {
  const { data, error } = useLoad((signal) => api<any>(`/alerts/${encodeURIComponent(ruleId)}/history`, { signal }), [ruleId]);
  return (
    <div class="history" data-testid="history">
      <h3>Transitions <a class="small" href={href("alerts", {})}>close</a></h3>
      {error && <p class="field-error">{error}</p>}
      <EventTable events={data?.events || []} showRule={false} />
    </div>
  );
}

function Events() {
  const { data, error } = useLoad((signal) => api<any>("/alerts/events", { params: { limit: 50 }, signal }), [], 15000);
  return (
    <section class="events">
      <h2>Notifications</h2>
      {error && <p class="field-error">{error}</p>}
      <EventTable events={data?.events || []} showRule />
    </section>
  );
}

function EventTable({ events, showRule }: { events: any[]; showRule: boolean }) {
  if (!events.length) return <p class="muted small">None yet.</p>;
  return (
    <div class="table-wrap">
      <table class="data" data-testid="events">
        <thead>
          <tr>
            <th>at</th>
            {showRule && <th>rule</th>}
            <th>group</th>
            <th>change</th>
            <th class="num">value</th>
            <th>deliveries</th>
          </tr>
        </thead>
        <tbody>
          {events.map(({ event: e, deliveries }) => (
            <tr>
              <td>{time(e.at)}</td>
              {showRule && <td>{e.rule_name}</td>}
              <td class="small">{groupText(e.group)}</td>
              <td>
                {e.kind === "renotify" ? "reminder: " : ""}
                <span class={"st-text st-" + e.previous_state}>{e.previous_state}</span> →{" "}
                <span class={"st-text st-" + e.state}>{e.state}</span>
              </td>
              <td class="num">{num(e.value)}</td>
              <td class="small">
                {(deliveries || []).map((d: any) => (
                  <div title={d.last_error || ""}>
                    {d.target}: <span class={"dl-" + d.status}>{d.status}</span>
                    {d.attempts > 1 && ` (${d.attempts} attempts)`}
                    {d.last_error && <span class="muted"> · {d.last_error}</span>}
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Subscriptions() {
  const subs = useLoad((signal) => api<any>("/subscriptions", { signal }), []);
  const [form, setForm] = useState({ url: "", name: "", filter_policy: "", secret: "" });
  const [err, setErr] = useState("");
  const [adding, setAdding] = useState(false);

  async function add(e: Event) {
    e.preventDefault();
    setErr("");
    const body: Record<string, unknown> = { url: form.url, name: form.name };
    if (form.filter_policy.trim()) body.filter_policy = form.filter_policy.trim();
    if (form.secret) body.secret = form.secret;
    try {
      await api("/subscriptions", { method: "POST", body });
      setForm({ url: "", name: "", filter_policy: "", secret: "" });
      setAdding(false);
      subs.reload();
    } catch (x) {
      setErr(x instanceof Error ? x.message : String(x));
    }
  }

  async function remove(id: string) {
    if (!confirm("Delete this subscription?")) return;
    try {
      await api("/subscriptions/" + encodeURIComponent(id), { method: "DELETE" });
      subs.reload();
    } catch (x) {
      alert(x instanceof Error ? x.message : String(x));
    }
  }

  const list: any[] = subs.data?.subscriptions || [];
  return (
    <section class="subscriptions">
      <div class="toolbar">
        <h2>Webhook subscriptions</h2>
        <span class="spacer" />
        <button onClick={() => setAdding(!adding)} aria-expanded={adding}>+ Subscription</button>
      </div>
      {subs.error && <p class="field-error">{subs.error}</p>}
      {adding && (
        <form class="sub-form" onSubmit={add}>
          <div class="grid">
            <div class="field">
              <label for="s-url">URL</label>
              <input id="s-url" value={form.url} placeholder="http://127.0.0.1:9000/alerts" onInput={(e) => setForm({ ...form, url: (e.target as HTMLInputElement).value })} />
            </div>
            <div class="field">
              <label for="s-name">Name</label>
              <input id="s-name" value={form.name} onInput={(e) => setForm({ ...form, name: (e.target as HTMLInputElement).value })} />
            </div>
            <div class="field">
              <label for="s-fp">Filter policy (SNS JSON)</label>
              <input id="s-fp" class="mono" value={form.filter_policy} placeholder='{"severity": ["critical"]}' onInput={(e) => setForm({ ...form, filter_policy: (e.target as HTMLInputElement).value })} />
            </div>
            <div class="field">
              <label for="s-secret">Secret (signs each body)</label>
              <input id="s-secret" type="password" autocomplete="off" value={form.secret} onInput={(e) => setForm({ ...form, secret: (e.target as HTMLInputElement).value })} />
            </div>
          </div>
          {err && <p class="field-error" role="alert">{err}</p>}
          <div class="form-actions">
            <button type="submit" class="primary">Subscribe</button>
          </div>
        </form>
      )}
      {list.length ? (
        <div class="table-wrap">
          <table class="data" data-testid="subscriptions">
            <thead>
              <tr>
                <th>name</th>
                <th>url</th>
                <th>filter</th>
                <th>last delivery</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((s) => (
                <tr>
                  <td>{s.name || s.id} {s.source === "config" && <span class="badge">config</span>}</td>
                  <td class="mono small">{s.url}</td>
                  <td class="mono small">{s.filter_policy ? JSON.stringify(s.filter_policy) : "all"}</td>
                  <td class="small">{s.last_delivery ? `${s.last_delivery.status}${s.last_delivery.last_error ? ": " + s.last_delivery.last_error : ""}` : "–"}</td>
                  <td>{s.source !== "config" && <button class="small danger" onClick={() => remove(s.id)}>Delete</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        !adding && <p class="muted small">No subscriptions: notifications go to the log{""} only.</p>
      )}
    </section>
  );
}
