// Numbers, sizes, times and durations as people read them.

export function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e9 || a < 1e-3)) return v.toExponential(2);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return Number(v.toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + " " + units[i];
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "–";
  let s = Math.round(seconds);
  if (s < 60) return s + "s";
  const parts: string[] = [];
  for (const [unit, n] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (s >= n) {
      parts.push(Math.floor(s / n) + unit);
      s %= n;
    }
  }
  if (s && parts.length < 2) parts.push(s + "s");
  return parts.slice(0, 2).join(" ");
}

const pad = (n: number) => String(n).padStart(2, "0");

/** A local time, to the second (ISO-like, so it sorts and reads the same everywhere). */
export function time(t: number | string | null | undefined): string {
  if (t === null || t === undefined || t === "") return "–";
  const d = typeof t === "number" ? new Date(t * 1000) : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

export function ago(t: string | null | undefined): string {
  if (!t) return "–";
  const s = (Date.now() - new Date(t).getTime()) / 1000;
  if (!Number.isFinite(s)) return "–";
  return s < 0 ? "in " + duration(-s) : duration(s) + " ago";
}

export function labelsText(labels: Record<string, string>, skipName = false): string {
  const entries = Object.entries(labels).filter(([k]) => !(skipName && k === "__name__"));
  return entries.map(([k, v]) => `${k}="${v}"`).join(", ");
}
