// The time range picker: presets relative to now, start and end typed (`-3h`, `now`, an ISO time)
// or picked as local date and time, the step, and auto-refresh.
import { useEffect, useRef, useState } from "preact/hooks";
import { time } from "../format";
import { PRESETS, REFRESH, fromLocalInput, isRelative, resolveTime, toLocalInput } from "./time";

interface Props {
  start: string;
  end: string;
  step: string;
  refresh: string;
  autoStep: number;
  onChange: (next: { start?: string; end?: string; step?: string; refresh?: string }) => void;
}

export function describe(start: string, end: string): string {
  if ((end === "now" || end === "") && /^-\w+$/.test(start)) return "Last " + start.slice(1);
  const now = Date.now() / 1000;
  const a = resolveTime(start, now);
  const b = resolveTime(end, now);
  return `${a === null ? start : time(a)} → ${b === null ? end : isRelative(end) ? end : time(b)}`;
}

export function RangePicker({ start, end, step, refresh, autoStep, onChange }: Props) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(start);
  const [to, setTo] = useState(end);
  const [bad, setBad] = useState("");
  const panel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setFrom(start);
    setTo(end);
    setBad("");
  }, [start, end, open]);

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (panel.current && !panel.current.contains(e.target as Node)) setOpen(false);
    };
    const esc = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", close);
    document.addEventListener("keydown", esc);
    return () => {
      document.removeEventListener("mousedown", close);
      document.removeEventListener("keydown", esc);
    };
  }, [open]);

  function apply(e?: Event) {
    e?.preventDefault();
    const now = Date.now() / 1000;
    const a = resolveTime(from, now);
    const b = resolveTime(to, now);
    if (a === null) return setBad(`start: "${from}" is not a time (try -3h, now, or 2026-11-22T10:00)`);
    if (b === null) return setBad(`end: "${to}" is not a time`);
    if (b <= a) return setBad("end must be later than start");
    onChange({ start: from.trim() || "-1h", end: to.trim() || "now" });
    setOpen(false);
  }

  const now = Date.now() / 1000;
  const a = resolveTime(from, now);
  const b = resolveTime(to, now);
  return (
    <div class="range" ref={panel}>
      <button class="range-button" aria-expanded={open} aria-haspopup="dialog" onClick={() => setOpen(!open)}
        data-testid="range-button">
        {describe(start, end)}
      </button>
      <label class="inline">
        step
        <input
          class="step"
          value={step}
          placeholder={"auto " + autoStep + "s"}
          aria-label="Step (blank: from the chart's width)"
          onChange={(e) => onChange({ step: (e.target as HTMLInputElement).value.trim() })}
        />
      </label>
      <label class="inline">
        refresh
        <select value={refresh || "off"} onChange={(e) => onChange({ refresh: (e.target as HTMLSelectElement).value })}
          aria-label="Auto-refresh">
          {REFRESH.map((r) => (
            <option value={r}>{r}</option>
          ))}
        </select>
      </label>
      {open && (
        <div class="range-panel" role="dialog" aria-label="Time range">
          <div class="presets">
            {PRESETS.map((p) => (
              <button
                class={start === "-" + p && (end === "now" || !end) ? "chip on" : "chip"}
                onClick={() => {
                  onChange({ start: "-" + p, end: "now" });
                  setOpen(false);
                }}
              >
                {p}
              </button>
            ))}
          </div>
          <form onSubmit={apply} class="range-form">
            <label>
              From <input value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
            </label>
            <input
              type="datetime-local"
              aria-label="From (local time)"
              value={a !== null ? toLocalInput(a) : ""}
              onChange={(e) => {
                const t = fromLocalInput((e.target as HTMLInputElement).value);
                if (t !== null) setFrom(String(t));
              }}
            />
            <label>
              To <input value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
            </label>
            <input
              type="datetime-local"
              aria-label="To (local time)"
              value={b !== null ? toLocalInput(b) : ""}
              onChange={(e) => {
                const t = fromLocalInput((e.target as HTMLInputElement).value);
                if (t !== null) setTo(String(t));
              }}
            />
            {bad && <p class="field-error">{bad}</p>}
            <button type="submit" class="primary">Apply</button>
          </form>
          <p class="muted small">Relative: -15m, -6h, -7d, now. Absolute: 2026-11-22T10:00 or epoch seconds. Drag across the chart to zoom; Back undoes.</p>
        </div>
      )}
    </div>
  );
}
