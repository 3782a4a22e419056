// Live training charts (uPlot): loss (train and eval), learning rate, tokens/s, gradient norm, and a
// chart for any other metric a recipe records. Points are kept by step, so the run's stored series
// and the job's metric events can both be poured in (a later value for a step replaces the earlier:
// a resumed run rewrites the steps after its checkpoint). Colours follow the theme; log scale toggles.
import { el } from "/static/js/app.js";

const CHARTS = [
  { id: "loss", title: "Loss", series: [["train_loss", "train", "--accent"], ["eval_loss", "eval", "--warn"]] },
  { id: "lr", title: "Learning rate", series: [["lr", "lr", "--info"], ["learning_rate", "lr", "--info"]] },
  { id: "tps", title: "Tokens / s", series: [["tokens_per_s", "tokens/s", "--ok"]] },
  { id: "grad", title: "Gradient norm", series: [["grad_norm", "grad norm", "--muted"]] },
];
// steps are whole numbers: ticks at 1, 2, 5, 10, 20, 50... apart, never at 2.5
const STEP_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000];
const KNOWN = new Set(CHARTS.flatMap(c => c.series.map(s => s[0])));

function cssColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

function fmtTick(v) {
  if (v === null || v === undefined) return "";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
  return +v.toPrecision(4) + "";
}

export class MetricCharts {
  constructor(box, { log = false, onChange } = {}) {
    this.box = box; this.log = log; this.onChange = onChange;
    this.points = new Map(); // metric -> Map(step -> value)
    this.charts = new Map(); // chart id -> {def, wrap, plot, holder}
    this.pending = false;
    new ResizeObserver(() => this.resize()).observe(box);
    new MutationObserver(() => this.rebuild()).observe(document.documentElement,
      { attributes: true, attributeFilter: ["data-theme"] });
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => this.rebuild());
    for (const def of CHARTS) this.ensure(def);
  }

  // points: {metric: [{step, value}]} (a run's stored series)
  setSeries(series) {
    for (const [name, pts] of Object.entries(series || {})) {
      const m = this.metric(name);
      for (const p of pts) m.set(p.step, p.value);
    }
    this.schedule();
  }

  // one step's metrics from an event: {train_loss: 2.3, lr: 1e-4, ...}
  add(step, metrics) {
    for (const [name, value] of Object.entries(metrics || {})) this.metric(name).set(step, value);
    this.schedule();
  }

  count(name) { return this.points.get(name)?.size || 0; }

  setLog(on) { this.log = on; this.rebuild(); }

  metric(name) {
    if (!this.points.has(name)) {
      this.points.set(name, new Map());
      if (!KNOWN.has(name)) {
        const title = name.replace(/_/g, " ").replace(/^./, c => c.toUpperCase());
        this.ensure({ id: "m-" + name, title, series: [[name, name.replace(/_/g, " "), "--accent"]] });
      }
    }
    return this.points.get(name);
  }

  ensure(def) {
    if (this.charts.has(def.id)) return this.charts.get(def.id);
    const holder = el("div", { class: "chart", id: "chart-" + def.id });
    const empty = el("p", { class: "empty chart-empty" }, "No points yet.");
    const wrap = el("figure", { class: "chart-card", "data-points": "0" },
      el("figcaption", {}, def.title), holder, empty);
    this.box.append(wrap);
    const entry = { def, wrap, holder, empty, plot: null };
    this.charts.set(def.id, entry);
    return entry;
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  // [xs, ...ys] for a chart: the union of its series' steps, nulls where a series has no point
  data(def) {
    const present = def.series.filter(([name]) => this.count(name));
    const steps = new Set();
    for (const [name] of present) for (const s of this.points.get(name).keys()) steps.add(s);
    const xs = [...steps].sort((a, b) => a - b);
    const ys = present.map(([name]) => {
      const m = this.points.get(name);
      return xs.map(s => {
        const v = m.has(s) ? m.get(s) : null;
        return v === null || (this.log && v <= 0) ? null : v;
      });
    });
    return { present, data: [xs, ...ys] };
  }

  draw() {
    for (const entry of this.charts.values()) {
      const { present, data } = this.data(entry.def);
      entry.wrap.dataset.points = String(data[0].length);
      entry.empty.hidden = data[0].length > 0;
      entry.wrap.classList.toggle("has-data", data[0].length > 0);
      const key = present.map(p => p[0]).join(",");
      if (!data[0].length) continue;
      const few = data[0].length < 3; // one point needs its own x range, a few need dots
      if (!entry.plot || entry.key !== key || few !== entry.few) {
        entry.few = few;
        entry.plot?.destroy();
        entry.plot = new uPlot(this.options(entry, present), data, entry.holder);
        entry.key = key;
      } else {
        entry.plot.setData(data);
      }
    }
    this.onChange?.();
  }

  options(entry, present) {
    const xs = this.data(entry.def).data[0];
    const x = xs.length === 1 ? { time: false, range: [xs[0] - 1, xs[0] + 1] } : { time: false };
    const text = cssColor("--muted"), grid = cssColor("--border");
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 },
      font: "12px system-ui, sans-serif" };
    return {
      width: Math.max(240, entry.holder.clientWidth || 300), height: 200,
      scales: { x, y: this.log ? { distr: 3, log: 10 } : { auto: true } },
      axes: [{ ...axis, label: "step", labelSize: 18, labelFont: "12px system-ui, sans-serif", incrs: STEP_INCRS },
             { ...axis, size: 58, values: (u, vals) => vals.map(fmtTick) }],
      legend: { show: present.length > 1 },
      cursor: { drag: { x: true, y: false } },
      series: [{ label: "step" }, ...present.map(([name, label, color]) => ({
        label, stroke: cssColor(color), width: 2, spanGaps: true, value: (u, v) => fmtTick(v),
        // eval points are few and far apart: dots, not only a line
        points: { show: name.startsWith("eval") || xs.length < 3, size: 6, fill: cssColor(color) },
      }))],
    };
  }

  resize() {
    for (const entry of this.charts.values()) {
      if (entry.plot) entry.plot.setSize({ width: Math.max(240, entry.holder.clientWidth), height: 200 });
    }
  }

  rebuild() {
    for (const entry of this.charts.values()) { entry.plot?.destroy(); entry.plot = null; entry.key = null; }
    this.draw();
  }
}
