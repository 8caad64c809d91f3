// The frame of every page: navigation, theme, the API key prompt, and the page itself.
import { useEffect, useRef, useState } from "preact/hooks";
import { getKey, keyGiven, onKeyNeeded, setKey } from "./api";
import { href, useLocation } from "./router";
import { Alerts } from "./pages/alerts";
import { Explore } from "./pages/explore";
import { Files } from "./pages/files";
import { Metrics } from "./pages/metrics";
import { Status } from "./pages/status";

const PAGES: [string, string][] = [
  ["", "Metrics"],
  ["explore", "Explore"],
  ["alerts", "Alerts"],
  ["files", "Files"],
  ["status", "Status"],
];

const THEMES = ["auto", "light", "dark"];

function storedTheme(): string {
  try {
    return localStorage.getItem("weir.theme") || "auto";
  } catch {
    return "auto";
  }
}

export function App() {
  const loc = useLocation();
  const [theme, setTheme] = useState(storedTheme);
  const [keyPrompt, setKeyPrompt] = useState<string | null>(null);
  const [hasKey, setHasKey] = useState(!!getKey());

  useEffect(() => {
    onKeyNeeded((needed, reason) => {
      setKeyPrompt(needed ? reason : null);
      setHasKey(!!getKey());
    });
  }, []);

  useEffect(() => {
    const root = document.documentElement;
    if (theme === "auto") root.removeAttribute("data-theme");
    else root.setAttribute("data-theme", theme);
    try {
      localStorage.setItem("weir.theme", theme);
    } catch {
      /* private mode: the theme lasts this page only */
    }
  }, [theme]);

  useEffect(() => {
    const name = PAGES.find(([p]) => p === loc.page)?.[1] || "Not found";
    document.title = `${name} · Weir`;
  }, [loc.page]);

  // Keyboard: "/" focuses the page's search or query box (unless typing already).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key !== "/" || e.ctrlKey || e.metaKey || /INPUT|TEXTAREA|SELECT/.test(t.tagName)) return;
      const box = document.querySelector<HTMLElement>("[data-search], .editor textarea");
      if (box) {
        e.preventDefault();
        box.focus();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  const effective =
    theme === "auto" ? (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light") : theme;
  let page;
  switch (loc.page) {
    case "":
      page = <Metrics params={loc.params} />;
      break;
    case "explore":
      page = <Explore params={loc.params} theme={effective} />;
      break;
    case "alerts":
      page = <Alerts params={loc.params} />;
      break;
    case "files":
      page = <Files params={loc.params} />;
      break;
    case "status":
      page = <Status />;
      break;
    default:
      page = (
        <section>
          <h1>No such page</h1>
          <p>
            <a href={href("")}>Back to the metrics</a>
          </p>
        </section>
      );
  }
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href("")} aria-label="Weir home">
          <svg viewBox="0 0 16 16" width="20" height="20" aria-hidden="true">
            <path d="M1 12h14M1 9l4-4 3 3 3-4 4 5" fill="none" stroke="currentColor" stroke-width="2" />
          </svg>
          Weir
        </a>
        <nav aria-label="Pages">
          {PAGES.map(([p, name]) => (
            <a href={href(p)} aria-current={loc.page === p ? "page" : undefined}>
              {name}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        {hasKey && (
          <button
            class="ghost small"
            title="Forget the API key kept for this tab"
            onClick={() => {
              setKey(null);
              setHasKey(false);
              location.reload();
            }}
          >
            forget key
          </button>
        )}
        <button
          class="ghost small"
          title="Theme: automatic, light or dark"
          aria-label={`Theme: ${theme}`}
          onClick={() => setTheme(THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length])}
        >
          {theme === "dark" ? "☾ dark" : theme === "light" ? "☀ light" : "◐ auto"}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
      {keyPrompt !== null && <KeyPrompt reason={keyPrompt} />}
    </>
  );
}

function KeyPrompt({ reason }: { reason: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [value, setValue] = useState("");
  useEffect(() => input.current?.focus(), []);
  return (
    <div class="modal-backdrop" role="dialog" aria-modal="true" aria-labelledby="key-title">
      <form
        class="modal"
        data-testid="key-prompt"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) keyGiven(value.trim());
        }}
      >
        <h2 id="key-title">API key</h2>
        <p>{reason}</p>
        <p class="muted small">
          Create one with <code>weir keys add NAME</code>. It is kept in this tab's session storage only and sent as{" "}
          <code>x-api-key</code>.
        </p>
        <input
          ref={input}
          type="password"
          autocomplete="off"
          aria-label="API key"
          placeholder="weir_…"
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
        <div class="modal-actions">
          <button type="submit" class="primary">
            Use this key
          </button>
        </div>
      </form>
    </div>
  );
}
