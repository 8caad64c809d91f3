// Every request the UI makes goes through here: same origin, relative to where Weir is served
// (an API Gateway stage prefix included), with the API key from this tab's session storage.
// A 401/403 asks the person for a key (the prompt in app.tsx) and retries once it is given.

const KEY_STORAGE = "weir.apiKey";

/** What precedes /ui/ in this page's path: "" locally, "/prod" behind an API Gateway stage. */
export const apiBase: string = (() => {
  const p = location.pathname;
  const i = p.lastIndexOf("/ui/");
  return i >= 0 ? p.slice(0, i) : p.endsWith("/ui") ? p.slice(0, -3) : "";
})();
export const uiBase = apiBase + "/ui/";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public body: any = null,
  ) {
    super(message);
  }
}

export function getKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function setKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

type KeyListener = (needed: boolean, reason: string) => void;
let keyListener: KeyListener = () => {};
let keyWaiters: Array<() => void> = [];

/** app.tsx shows the prompt when told; `keyGiven` releases the requests waiting for it. */
export function onKeyNeeded(fn: KeyListener): void {
  keyListener = fn;
}

export function keyGiven(key: string): void {
  setKey(key);
  const waiting = keyWaiters;
  keyWaiters = [];
  keyListener(false, "");
  waiting.forEach((w) => w());
}

function waitForKey(reason: string): Promise<void> {
  return new Promise((resolve) => {
    keyWaiters.push(resolve);
    keyListener(true, reason);
  });
}

export type Params = Record<string, string | number | boolean | undefined | null | string[]>;

export function query(params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  params?: Params;
  signal?: AbortSignal;
}

/** JSON from Weir; a non-2xx answer throws ApiError with Weir's (or Prometheus') message. */
export async function api<T = any>(path: string, opts: RequestOptions = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { Accept: "application/json" };
    const key = getKey();
    if (key) headers["x-api-key"] = key;
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    const res = await fetch(apiBase + path + query(opts.params || {}), {
      method: opts.method || "GET",
      headers,
      body,
      signal: opts.signal,
      credentials: "same-origin",
    });
    if ((res.status === 401 || res.status === 403) && attempt < 5) {
      const data = await res.json().catch(() => null);
      if (key) setKey(null);
      await waitForKey(
        key ? "That key was refused: " + errorText(data, res.status) : "This Weir needs an API key to read its data.",
      );
      continue;
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let data: any = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok || (data && data.status === "error")) {
      throw new ApiError(res.status, errorText(data, res.status, text), data);
    }
    return data as T;
  }
}

export function errorText(data: any, status: number, text = ""): string {
  if (data && typeof data === "object") {
    if (typeof data.message === "string") return data.message; // Weir: {error, message}
    if (typeof data.error === "string") return data.error; // Prometheus: {status, errorType, error}
  }
  return text ? text.slice(0, 300) : `HTTP ${status}`;
}

export interface Capabilities {
  promql: boolean; // /api/v1/query_range and friends
  metadata: boolean; // /api/v1/metadata (metric types)
  status: boolean;
  filesDelimiter: boolean;
}

let caps: Promise<Capabilities> | null = null;

/** What this Weir offers (GET /ui/capabilities.json, read from its route table and open like the
 * UI's files): probing the routes one by one would log a 404 in the console for each missing
 * one. A query_range answering 404 anyway turns PromQL off (see `promqlMissing`). */
export function capabilities(): Promise<Capabilities> {
  if (!caps) {
    caps = api<any>("/ui/capabilities.json")
      .then((c) => ({
        promql: !!c.promql,
        metadata: !!c.metadata,
        status: !!c.status,
        filesDelimiter: !!c.files_delimiter,
      }))
      .catch((e) => {
        caps = null;
        throw e;
      });
  }
  return caps;
}

export function promqlMissing(): void {
  caps = capabilities().then((c) => ({ ...c, promql: false, metadata: false }));
}

/** For tests and people poking around: what the pages loaded and drew. */
export const debug: Record<string, any> = ((window as any).__weir = (window as any).__weir || {});
