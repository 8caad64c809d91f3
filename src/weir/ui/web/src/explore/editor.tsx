// One query's editor: a text area with autocomplete (↑ ↓ to choose, Enter or Tab to take, Esc to
// close, Ctrl+Space to ask) and the query's error marked where the API says it is.
import { useEffect, useRef, useState } from "preact/hooks";
import { STATS } from "./native";
import { type Context, context, suggestions } from "./complete";
import type { QueryError } from "./query";

interface Props {
  index: number;
  value: string;
  promql: boolean;
  error?: QueryError;
  onChange: (v: string) => void;
  onRun: () => void;
  onRemove?: () => void;
}

/** Offset in `text` of (line, col), both counted from 1. */
export function offsetOf(text: string, line: number, col: number): number {
  let at = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", at);
    if (nl < 0) return text.length;
    at = nl + 1;
  }
  return Math.min(text.length, at + col - 1);
}

/** The marked span: from the error's position to the end of the token there (at least one character). */
function markRange(text: string, err: QueryError): [number, number] | null {
  if (!err.line || !err.col) return null;
  const a = offsetOf(text, err.line, err.col);
  const m = /^[\w:.]+|^"[^"]*"?|^(?:=~|!~|!=|==|>=|<=)|^\S/.exec(text.slice(a));
  return [a, a + (m ? m[0].length : 0)];
}

export function Editor({ index, value, promql, error, onChange, onRun, onRemove }: Props) {
  const ta = useRef<HTMLTextAreaElement>(null);
  const [items, setItems] = useState<string[]>([]);
  const [active, setActive] = useState(0);
  const [ctx, setCtx] = useState<Context | null>(null);
  const seq = useRef(0);

  function resize() {
    const el = ta.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = el.scrollHeight + 2 + "px";
  }
  useEffect(resize, [value]);

  async function complete(force = false) {
    const el = ta.current;
    if (!el) return;
    const c = context(el.value, el.selectionStart);
    const n = ++seq.current;
    if (!c || (!force && c.kind === "metric" && c.word.length < 1)) {
      setItems([]);
      return;
    }
    const found = await suggestions(c, promql, STATS);
    if (n !== seq.current) return; // typed on meanwhile
    setCtx(c);
    setItems(found);
    setActive(0);
  }

  function take(item: string) {
    const el = ta.current;
    if (!el || !ctx) return;
    const end = el.selectionStart;
    let insert = item;
    if (ctx.kind === "label") insert = item + '="';
    else if (ctx.kind === "value") insert = item.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
    const next = el.value.slice(0, ctx.from) + insert + el.value.slice(end);
    onChange(next);
    setItems([]);
    const caret = ctx.from + insert.length;
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(caret, caret);
      if (ctx.kind === "label") complete(true);
    });
  }

  function onKeyDown(e: KeyboardEvent) {
    if (items.length) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const d = e.key === "ArrowDown" ? 1 : -1;
        setActive((a) => (a + d + items.length) % items.length);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        if (!(e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          take(items[active]);
          return;
        }
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setItems([]);
        return;
      }
    }
    if (e.key === " " && e.ctrlKey) {
      e.preventDefault();
      complete(true);
      return;
    }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      setItems([]);
      onRun();
    }
  }

  const mark = error ? markRange(value, error) : null;
  const listId = `complete-${index}`;
  return (
    <div class="editor" data-query-index={index}>
      <div class={"editor-box" + (error ? " has-error" : "")}>
        <pre class="mirror" aria-hidden="true">
          {mark ? (
            <>
              {value.slice(0, mark[0])}
              <mark class="error-mark" data-offset={mark[0]}>
                {value.slice(mark[0], mark[1]) || " "}
              </mark>
              {value.slice(mark[1])}
            </>
          ) : (
            value
          )}
          {"\n"}
        </pre>
        <textarea
          ref={ta}
          rows={1}
          spellcheck={false}
          autocomplete="off"
          aria-label={`Query ${index + 1}`}
          aria-autocomplete="list"
          aria-controls={listId}
          aria-invalid={!!error}
          placeholder={promql ? 'PromQL, e.g. rate(requests_total[5m])  (Enter runs)' : 'e.g. max(cpu{region="eu"}) by (host)  (Enter runs)'}
          value={value}
          onInput={(e) => {
            onChange((e.target as HTMLTextAreaElement).value);
            resize();
            complete();
          }}
          onKeyDown={onKeyDown}
          onBlur={() => setTimeout(() => setItems([]), 150)}
          onClick={() => setItems([])}
        />
        {items.length > 0 && (
          <ul class="completions" id={listId} role="listbox">
            {items.map((it, i) => (
              <li
                key={it}
                role="option"
                aria-selected={i === active}
                class={i === active ? "active" : ""}
                onMouseDown={(e) => {
                  e.preventDefault();
                  take(it);
                }}
              >
                {it}
              </li>
            ))}
          </ul>
        )}
      </div>
      {onRemove && (
        <button class="icon" title="Remove this query" aria-label={`Remove query ${index + 1}`} onClick={onRemove}>
          ×
        </button>
      )}
      {error && (
        <p
          class="query-error"
          role="alert"
          data-testid="query-error"
          data-error-line={error.line ?? ""}
          data-error-col={error.col ?? ""}
        >
          {error.line ? <strong>line {error.line}, column {error.col}: </strong> : null}
          {error.message}
        </p>
      )}
    </div>
  );
}
