// The line chart (uPlot) and its legend: min, max, avg and last per series, the value under the
// cursor, a click toggles a series, a double click shows it alone. Dragging across the chart
// selects a time range, which the page turns into a new URL (so the browser's back undoes it).
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { debug } from "../api";
import { num, time } from "../format";
import { type ChartData, align, color, figures, stack, thin } from "./data";
import type { Series } from "./query";

interface Props {
  series: Series[];
  stacked: boolean;
  theme: string;
  onZoom: (start: number, end: number) => void;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

export function Chart({ series, stacked, theme, onZoom }: Props) {
  const plotRef = useRef<HTMLDivElement>(null);
  const legendRef = useRef<HTMLTableSectionElement>(null);
  const hoverAt = useRef<HTMLSpanElement>(null);
  const uRef = useRef<uPlot | null>(null);
  const [width, setWidth] = useState(0);
  // Hidden series stay hidden when the answer is refreshed: kept by name, not by position.
  const hidden = useRef(new Set<string>());
  const [shown, setShownState] = useState<boolean[]>(() => series.map(() => true));
  const setShown = (next: boolean[] | ((old: boolean[]) => boolean[])) =>
    setShownState((old) => {
      const value = typeof next === "function" ? next(old) : next;
      value.forEach((on, i) => (on ? hidden.current.delete(series[i]?.name) : hidden.current.add(series[i]?.name)));
      return value;
    });
  const seen = useRef(series);
  if (seen.current !== series) {
    // a new answer: the same render takes its visibility, so the plot is built once
    seen.current = series;
    const next = series.map((s) => !hidden.current.has(s.name));
    if (next.length !== shown.length || next.some((v, i) => v !== shown[i])) setShownState(next);
  }
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;


  const aligned = useMemo(() => align(series), [series]);
  const given: ChartData = useMemo(() => (width ? thin(aligned, width) : aligned), [aligned, width]);
  const stats = useMemo(() => series.map(figures), [series]);

  // Width of the plot's box: the step and the thinning follow it.
  useEffect(() => {
    const el = plotRef.current!;
    const ro = new ResizeObserver(() => {
      const w = Math.floor(el.clientWidth);
      setWidth((old) => (Math.abs(old - w) >= 1 ? w : old));
    });
    ro.observe(el);
    setWidth(Math.floor(el.clientWidth));
    return () => ro.disconnect();
  }, []);

  // (Re)build the plot when what it draws changes; visibility changes go through setSeries.
  useEffect(() => {
    const el = plotRef.current;
    if (!el || !width) return;
    const fg = cssVar("--fg");
    const grid = cssVar("--grid");
    const columns = stacked ? stack(given.columns, shown) : given.columns;
    const opts: uPlot.Options = {
      width,
      height: Math.max(220, Math.min(420, Math.round(width * 0.38))),
      legend: { show: false },
      // A dot per series under the cursor is a DOM node moved on every mouse move: past a few
      // dozen series that costs more than it tells.
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: series.length <= 40, size: 6 } },
      scales: { x: { time: true } },
      axes: [
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        {
          stroke: fg,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: 64,
          values: (_u, vals) => vals.map((v) => num(v, 3)),
        },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.name,
          stroke: color(i),
          width: 1.25,
          show: shown[i],
          fill: stacked ? color(i) + "33" : undefined,
          points: { show: false },
          spanGaps: false,
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            const { left, width: w } = u.select;
            if (w > 2) {
              const a = u.posToVal(left, "x");
              const b = u.posToVal(left + w, "x");
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              zoomRef.current(Math.floor(a), Math.ceil(b));
            }
          },
        ],
        setCursor: [(u) => hover(u.cursor.idx ?? null)],
      },
    };
    // Colors with an alpha suffix need hex; palette entries beyond it are hsl().
    opts.series.forEach((s: any, i) => {
      if (i && s.fill && !String(s.stroke).startsWith("#")) s.fill = undefined;
    });
    uRef.current?.destroy();
    const u = new uPlot(opts, [given.xs, ...columns] as uPlot.AlignedData, el);
    uRef.current = u;
    debug.chart = {
      series: series.map((s, i) => ({ name: s.name, labels: s.labels, query: s.query, shown: shown[i],
        points: given.columns[i].reduce((n: number, v) => (v === null ? n : n + 1), 0) })),
      xs: given.xs.length,
      thinned: given.thinned,
      stacked,
      drawn_ms: performance.now(), // when the plot was built (bench/ui.py reads it)
    };
    return () => {
      u.destroy();
      if (uRef.current === u) uRef.current = null;
    };
    // shown is applied by setSeries below unless stacked (the sums depend on it)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [given, width, stacked, theme, stacked ? shown : null]);

  useEffect(() => {
    const u = uRef.current;
    if (!u || stacked) return;
    shown.forEach((on, i) => {
      if (u.series[i + 1] && u.series[i + 1].show !== on) u.setSeries(i + 1, { show: on });
    });
    if (debug.chart) debug.chart.series.forEach((s: any, i: number) => (s.shown = shown[i]));
  }, [shown, stacked]);

  // At most one legend update per frame, however fast the mouse moves.
  const pending = useRef<{ idx: number | null; frame: number }>({ idx: null, frame: 0 });
  function hover(idx: number | null) {
    pending.current.idx = idx;
    if (!pending.current.frame) {
      pending.current.frame = requestAnimationFrame(() => {
        pending.current.frame = 0;
        showHover(pending.current.idx);
      });
    }
  }

  function showHover(idx: number | null) {
    const body = legendRef.current;
    if (!body) return;
    const cells = body.querySelectorAll<HTMLElement>("td.hover");
    cells.forEach((td, i) => {
      const v = idx === null ? null : given.columns[i]?.[idx] ?? null;
      td.textContent = idx === null ? "" : num(v);
    });
    if (hoverAt.current) hoverAt.current.textContent = idx === null ? "" : "at " + time(given.xs[idx]);
  }

  function toggle(i: number, solo: boolean) {
    setShown((old) => {
      if (solo) {
        const alone = old.every((on, j) => on === (j === i));
        return old.map((_, j) => alone || j === i);
      }
      return old.map((on, j) => (j === i ? !on : on));
    });
  }

  const many = series.length > 1;
  const queries = new Set(series.map((s) => s.query)).size;
  return (
    <div class="chart">
      <div ref={plotRef} class="plot" data-testid="plot" />
      <div class="legend-wrap">
        <table class="legend" data-testid="legend">
          <thead>
            <tr>
              <th class="name">
                {series.length} series <span ref={hoverAt} class="muted" />
                {many && (
                  <span class="legend-actions">
                    <button class="link" onClick={() => setShown(series.map(() => true))}>all</button>
                    <button class="link" onClick={() => setShown(series.map(() => false))}>none</button>
                  </span>
                )}
              </th>
              <th>min</th>
              <th>max</th>
              <th>avg</th>
              <th>last</th>
              <th class="hover-h">cursor</th>
            </tr>
          </thead>
          <tbody ref={legendRef}>
            {series.map((s, i) => (
              <tr
                key={i}
                class={shown[i] ? "" : "off"}
                tabIndex={0}
                role="switch"
                aria-checked={shown[i]}
                title="Click: show or hide; double click: only this one"
                onClick={(e) => toggle(i, e.detail === 2)}
                onKeyDown={(e) => {
                  if (e.key === "Enter" || e.key === " ") {
                    e.preventDefault();
                    toggle(i, e.shiftKey);
                  }
                }}
              >
                <td class="name">
                  <span class="swatch" style={{ background: color(i) }} />
                  {queries > 1 && <span class="muted">#{s.query + 1} </span>}
                  {s.name || "{}"}
                </td>
                <td>{num(stats[i].min)}</td>
                <td>{num(stats[i].max)}</td>
                <td>{num(stats[i].avg)}</td>
                <td>{num(stats[i].last)}</td>
                <td class="hover" />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
