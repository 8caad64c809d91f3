// A router of a few lines: the page is the path segment after /ui/, the rest of the state is in
// the query string, so every view is a link that can be shared and the browser's back undoes.
import { useEffect, useState } from "preact/hooks";
import { uiBase } from "./api";

export interface Location {
  page: string;
  params: URLSearchParams;
}

function current(): Location {
  const path = location.pathname;
  const i = path.lastIndexOf("/ui/");
  const page = i >= 0 ? path.slice(i + 4).split("/")[0] : "";
  return { page, params: new URLSearchParams(location.search) };
}

const listeners = new Set<() => void>();

function notify(): void {
  listeners.forEach((fn) => fn());
}

window.addEventListener("popstate", notify);

/** Go to `/ui/<page>?<params>`; `replace` keeps no history entry (typing, not a new view). */
export function navigate(page: string, params?: URLSearchParams | Record<string, string>, replace = false): void {
  const q = params instanceof URLSearchParams ? params : new URLSearchParams(params || {});
  const s = q.toString();
  const url = uiBase + page + (s ? "?" + s : "");
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  notify();
}

export function href(page: string, params?: Record<string, string | string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v !== "") q.set(k, v);
  }
  const s = q.toString();
  return uiBase + page + (s ? "?" + s : "");
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const fn = () => setLoc(current());
    listeners.add(fn);
    return () => {
      listeners.delete(fn);
    };
  }, []);
  return loc;
}

/** Links inside the UI change the view without reloading the page. */
export function interceptLinks(root: HTMLElement): void {
  root.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as HTMLElement).closest("a");
    if (!a || a.target || a.hasAttribute("download")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(uiBase)) return;
    e.preventDefault();
    if (url.pathname + url.search === location.pathname + location.search) return;
    history.pushState(null, "", url.pathname + url.search);
    notify();
    window.scrollTo(0, 0);
  });
}
