// Eval runs side by side (GET /v1/evals/compare): every metric of every (run, model) column with its
// delta against the first, a uPlot bar chart per metric, the runs' gate results, and each example's
// outputs next to each other with the words that differ from the baseline's output highlighted.
import { badge, clear, el, fmtNum, table } from "/static/js/app.js";
import { differs, renderDiff } from "/static/js/evals-diff.js";

const PAGE = 20;
const LOWER_IS_BETTER = ["_invalid", "_errors", "errors", "_s", "_ms", "latency"];
export const higherIsBetter = m => !LOWER_IS_BETTER.some(s => m.endsWith(s));
const key = c => `${c.run_id}/${c.model}`;
const css = name => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function labels(columns) {
  const counts = {};
  columns.forEach(c => { counts[c.model] = (counts[c.model] || 0) + 1; });
  return columns.map(c => (counts[c.model] > 1 ? `${c.model} · ${c.run_id.slice(-4)}` : c.model));
}

function deltaCell(metric, value, delta, isBaseline) {
  if (value === null || value === undefined) return el("span", { class: "muted" }, "–");
  const out = [el("span", {}, fmtNum(value, 4))];
  if (!isBaseline && delta !== null && delta !== undefined) {
    const better = higherIsBetter(metric) ? delta > 0 : delta < 0;
    const cls = Math.abs(delta) < 1e-12 ? "same" : better ? "up" : "down";
    const arrow = cls === "same" ? "=" : delta > 0 ? "▲" : "▼";
    out.push(el("span", { class: `delta ${cls}`, title: "against the baseline" },
      `${arrow} ${delta > 0 ? "+" : ""}${fmtNum(delta, 4)}`));
  }
  return out;
}

function metricsTable(c, names) {
  return table([
    { label: "metric", value: m => [m, higherIsBetter(m) ? null : el("span", { class: "muted small" }, " (lower is better)")] },
    ...c.columns.map((col, i) => ({ label: names[i] + (i === 0 ? " (baseline)" : ""), num: true,
      value: m => deltaCell(m, col.metrics[m], col.deltas[m], i === 0) })),
  ], c.metric_names, { empty: "These runs recorded no metrics." });
}

const charts = [];

function barChart(box, metric, columns, names) {
  const xs = columns.map((_, i) => i);
  const values = columns.map(c => c.metrics[metric]);
  const base = values.map((v, i) => (i === 0 ? v : null));
  const rest = values.map((v, i) => (i === 0 ? null : v));
  const finite = values.filter(v => v !== null && v !== undefined);
  const lo = Math.min(0, ...finite), hi = Math.max(0, ...finite);
  const bars = uPlot.paths.bars({ size: [0.6, 64] });
  const opts = {
    width: Math.max(260, box.clientWidth || 300), height: 190,
    legend: { show: false }, cursor: { show: false }, select: { show: false },
    scales: { x: { time: false, range: [-0.5, columns.length - 0.5] }, y: { range: [lo, hi === lo ? lo + 1 : hi + (hi - lo) * 0.08] } },
    axes: [
      { stroke: css("--muted"), grid: { show: false }, ticks: { show: false }, splits: () => xs,
        values: (u, ticks) => ticks.map(t => (names[t] || "").slice(0, 14)) },
      { stroke: css("--muted"), grid: { stroke: css("--border"), width: 1 }, size: 48 },
    ],
    series: [{}, { label: "baseline", fill: css("--muted"), stroke: css("--muted"), paths: bars, points: { show: false } },
      { label: metric, fill: css("--accent"), stroke: css("--accent"), paths: bars, points: { show: false } }],
  };
  charts.push(new uPlot(opts, [xs, base, rest], box));
}

function renderCharts(container, c, names) {
  charts.splice(0).forEach(u => u.destroy());
  const metrics = c.metric_names.filter(m => c.columns.some(col => col.metrics[m] !== null && col.metrics[m] !== undefined));
  clear(container, metrics.length ? null : el("p", { class: "empty" }, "No metric values to chart."));
  for (const m of metrics) {
    const box = el("div", { class: "chart", role: "img", "aria-label": `${m} per compared model` });
    container.append(el("div", { class: "chart-box", "data-metric": m }, el("h3", {}, m), box));
    barChart(box, m, c.columns, names);
  }
}

function renderGates(container, runs) {
  const rows = runs.flatMap(r => (r.params?.gates || []).map(g => ({ run: r.id, ...g })));
  clear(container, rows.length ? rows.map(g => el("div", { class: "gate-row" }, badge(g.passed ? "pass" : "fail"),
    el("strong", {}, g.model), el("code", {}, g.gate), el("span", { class: "muted small" }, g.detail || ""),
    el("span", { class: "muted small" }, "· " + g.run)))
    : el("p", { class: "empty" }, "No gates were set for these runs (add one when you start an evaluation, e.g. accuracy >= baseline)."));
}

const show = v => (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
const outText = o => (o === null || o === undefined ? null : typeof o === "object" ? (o.error ? `error: ${o.error}` : show(o.text ?? o)) : show(o));

function exampleCard(ex, columns, names) {
  const baseText = outText(ex.outputs[key(columns[0])]);
  return el("article", { class: "example", "data-id": ex.id },
    el("div", { class: "example-head" }, el("strong", {}, ex.id),
      ex.reference !== null && ex.reference !== undefined ? el("span", { class: "muted small" }, "reference: ", show(ex.reference)) : null),
    el("div", { class: "example-input" }, show(ex.input)),
    el("div", { class: "outputs" }, columns.map((col, i) => {
      const text = outText(ex.outputs[key(col)]);
      const score = ex.scores[key(col)] || {};
      const first = Object.entries(score)[0];
      return el("div", { class: "output" + (i === 0 ? " baseline" : ""), "data-column": key(col) },
        el("div", { class: "who" }, el("span", {}, names[i]), first ? el("span", {}, `${first[0]} ${fmtNum(first[1], 3)}`) : null),
        el("div", { class: "text" }, text === null ? el("span", { class: "empty" }, "not in this run")
          : i === 0 || baseText === null ? text : renderDiff(baseText, text)));
    })));
}

export function renderComparison(c, els) {
  const names = labels(c.columns);
  clear(els.head, c.columns.map((col, i) => el("span", { class: "chip col-chip" + (i === 0 ? " baseline" : "") },
    `${i + 1}. ${names[i]}`, el("span", { class: "muted" }, ` · ${col.run_id}`))));
  clear(els.metrics, metricsTable(c, names));
  renderCharts(els.charts, c, names);
  renderGates(els.gates, c.runs);
  let shown = PAGE;
  els.onlyDiff.closest("label").hidden = c.columns.length < 2; // one column: nothing to differ from
  const draw = () => {
    const onlyDiff = els.onlyDiff.checked && c.columns.length > 1;
    const base = key(c.columns[0]);
    const list = c.examples.filter(ex => !onlyDiff || c.columns.slice(1).some(col =>
      differs(outText(ex.outputs[base]), outText(ex.outputs[key(col)]))));
    clear(els.examples, list.length ? list.slice(0, shown).map(ex => exampleCard(ex, c.columns, names))
      : el("p", { class: "empty" }, c.examples.length ? "Every output matches the baseline's." : "These runs kept no per-example outputs."));
    els.more.hidden = list.length <= shown;
    clear(els.note, list.length ? `${Math.min(shown, list.length)} of ${list.length} examples` : "");
  };
  els.onlyDiff.onchange = () => { shown = PAGE; draw(); };
  els.more.onclick = () => { shown += PAGE; draw(); };
  draw();
}

window.addEventListener("resize", () => charts.forEach(u => {
  const w = u.root.parentElement?.clientWidth;
  if (w) u.setSize({ width: Math.max(260, w), height: 190 });
}));
