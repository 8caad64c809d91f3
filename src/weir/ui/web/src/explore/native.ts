// The query language of Weir's own API, for a Weir without the Prometheus API:
//   [stat(] metric[{key="value", ...}] [)] [by (key)]     e.g.  max(cpu{region="eu"}) by (host)
// which becomes GET /metrics/<metric>?stat=&group_by=&dim.<key>=<value>. Errors carry the
// position (line 1, column from 1) the way Prometheus reports PromQL's.

export const STATS = ["avg", "min", "max", "sum", "count", "p50", "p90", "p99"];

export interface NativeQuery {
  metric: string;
  stat: string;
  groupBy: string | null;
  dims: Record<string, string>;
}

export class QuerySyntaxError extends Error {
  constructor(
    message: string,
    public line: number,
    public col: number,
  ) {
    super(`${line}:${col}: parse error: ${message}`);
  }
}

const NAME = /[A-Za-z_][A-Za-z0-9_.:\-]*/y;
const KEY = /[A-Za-z_][A-Za-z0-9_.\-]*/y;

export function parseNative(text: string): NativeQuery {
  let i = 0;
  const fail = (msg: string, at = i): never => {
    throw new QuerySyntaxError(msg, 1, at + 1);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const word = (re: RegExp): string | null => {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) return null;
    i = re.lastIndex;
    return m[0];
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) fail(`expected "${c}"` + (i < text.length ? `, found "${text[i]}"` : " at the end"));
    i++;
  };
  const byClause = (): string => {
    expect("(");
    ws();
    const k = word(KEY);
    if (!k) fail("expected a dimension key");
    ws();
    if (text[i] === ",") fail("Weir's own query groups by one dimension; the Prometheus API groups by several");
    expect(")");
    return k as string;
  };
  ws();
  const start = i;
  let first = word(NAME);
  if (!first) fail(i < text.length ? `unexpected "${text[i]}"` : "the query is empty");
  let stat = "avg";
  let groupBy: string | null = null;
  let wrapped = false;
  ws();
  if (first === "by" || (STATS.includes(first as string) && (text[i] === "(" || text.startsWith("by", i)))) {
    // stat(...) or stat by (key) (...)
    if (!STATS.includes(first as string)) fail(`unknown statistic "${first}"; one of ${STATS.join(", ")}`, start);
    stat = first as string;
    if (text.startsWith("by", i)) {
      i += 2;
      groupBy = byClause();
    }
    expect("(");
    wrapped = true;
    ws();
    first = word(NAME);
    if (!first) fail("expected a metric name");
  }
  const metric = first as string;
  const dims: Record<string, string> = {};
  ws();
  if (text[i] === "{") {
    i++;
    ws();
    while (text[i] !== "}") {
      ws();
      const at = i;
      const k = word(KEY);
      if (!k) fail("expected a dimension key");
      ws();
      if (text.startsWith("!=", i) || text.startsWith("=~", i) || text.startsWith("!~", i)) {
        fail("Weir's own query matches dimensions by equality only (=)");
      }
      expect("=");
      ws();
      if (text[i] !== '"') fail("expected a quoted value");
      const close = text.indexOf('"', i + 1);
      if (close < 0) fail("unterminated quoted string");
      if ((k as string) in dims) fail(`dimension "${k}" given twice`, at);
      dims[k as string] = text.slice(i + 1, close);
      i = close + 1;
      ws();
      if (text[i] === ",") i++;
      else if (text[i] !== "}") fail('expected "," or "}"');
      ws();
    }
    i++;
  }
  if (wrapped) expect(")");
  ws();
  if (text.startsWith("by", i)) {
    if (groupBy) fail("by (...) given twice");
    i += 2;
    groupBy = byClause();
    ws();
  }
  if (i < text.length) fail(`unexpected "${text[i]}"`);
  return { metric, stat, groupBy, dims };
}

export function nativeText(q: NativeQuery): string {
  const dims = Object.entries(q.dims)
    .map(([k, v]) => `${k}="${v}"`)
    .join(", ");
  return `${q.stat}(${q.metric}${dims ? "{" + dims + "}" : ""})` + (q.groupBy ? ` by (${q.groupBy})` : "");
}
