// Loading data for a page: the answer, the error, and a way to load again.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], every?: number): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [n, setN] = useState(0);
  const latest = useRef(0);
  const reload = useCallback(() => setN((x) => x + 1), []);

  useEffect(() => {
    const ctl = new AbortController();
    const id = ++latest.current;
    setLoading(true);
    load(ctl.signal)
      .then((d) => {
        if (id !== latest.current) return;
        setData(d);
        setError(null);
      })
      .catch((e) => {
        if (id !== latest.current || (e instanceof DOMException && e.name === "AbortError")) return;
        setError(e instanceof Error ? e.message : String(e));
      })
      .finally(() => id === latest.current && setLoading(false));
    return () => ctl.abort();
  }, [...deps, n]);

  useEffect(() => {
    if (!every) return;
    const t = setInterval(reload, every);
    return () => clearInterval(t);
  }, [every]);

  return { data, error, loading, reload };
}
