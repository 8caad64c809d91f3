// Time ranges as the URL holds them: relative to now (`-1h`, `now`) or absolute (epoch seconds,
// or an ISO 8601 time); and the step that gives about one point per pixel.

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** Seconds of a duration such as `90s`, `5m`, `1h30m`, `2d`; null when it is not one. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (!t) return null;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const re = /(\d+(?:\.\d+)?)([smhdwy])/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(t))) {
    total += Number(m[1]) * UNITS[m[2]];
    end = re.lastIndex;
  }
  return end === t.length && total > 0 ? total : null;
}

/** Epoch seconds of `now`, `-1h`, `now-1h`, epoch seconds, or an ISO time; null when none of these. */
export function resolveTime(text: string, now: number): number | null {
  const t = text.trim();
  if (t === "" || t === "now") return now;
  const rel = /^(?:now)?-(.+)$/.exec(t);
  if (rel) {
    const d = parseDuration(rel[1]);
    return d === null ? null : now - d;
  }
  if (/^\d{9,11}(\.\d+)?$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms / 1000;
}

export function isRelative(text: string): boolean {
  const t = text.trim();
  return t === "" || t === "now" || t.startsWith("-") || t.startsWith("now-");
}

const NICE = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

/** The smallest nice step that keeps (end - start) / step within `pixels` points. */
export function stepFor(start: number, end: number, pixels: number): number {
  const raw = (end - start) / Math.max(50, pixels);
  for (const s of NICE) if (s >= raw) return s;
  return Math.ceil(raw / 86400) * 86400;
}

export function formatStep(s: number): string {
  for (const [u, n] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (s >= n && s % n === 0) return s / n + u;
  }
  return s + "s";
}

export const PRESETS = ["5m", "15m", "1h", "3h", "6h", "12h", "24h", "2d", "7d", "30d"];
export const REFRESH = ["off", "5s", "10s", "30s", "1m", "5m"];

/** A datetime-local input's value for epoch seconds, and back. */
export function toLocalInput(t: number): string {
  const d = new Date(t * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fromLocalInput(v: string): number | null {
  const ms = new Date(v).getTime();
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}
