// How the Datasets page draws a record of each kind (chat turns, preference pairs, labelled text,
// plain text), the token-length histogram (uPlot bars), and an upload error against its file (the
// bad line with its neighbours, read from the file the user picked).
import { clear, el } from "/static/js/app.js";

function turns(messages, cls = "") {
  return el("div", { class: `turns ${cls}` }, (messages || []).map(m =>
    el("div", { class: `turn ${m.role}` }, el("span", { class: "role" }, m.role + (m.tool_call ? " (tool call)" : "")),
      el("div", { class: "content" }, m.content))));
}

export function recordView(row, index) {
  const head = el("div", { class: "record-head muted small" }, `#${index + 1}`);
  let body;
  if (row.messages) body = turns(row.messages);
  else if (row.chosen) {
    body = el("div", {}, turns(row.prompt),
      el("div", { class: "pair" },
        el("div", { class: "side chosen" }, el("span", { class: "tag" }, "chosen"), turns(row.chosen)),
        el("div", { class: "side rejected" }, el("span", { class: "tag" }, "rejected"), turns(row.rejected))));
  } else if (row.label !== undefined) {
    body = el("div", {}, el("span", { class: "chip label" }, String(row.label)), el("div", { class: "content" }, row.text));
  } else body = el("div", { class: "content" }, row.text ?? JSON.stringify(row));
  return el("article", { class: "record" }, head, body);
}

let plot = null;

function color(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888"; }

// counts per bin [edges[i], edges[i+1]) as bars; the x axis is in tokens
export function drawHistogram(box, hist) {
  plot?.destroy(); plot = null;
  box.dataset.bins = String(hist.counts.length);
  if (!hist.counts.length) { clear(box, el("p", { class: "empty" }, "No records.")); return; }
  clear(box);
  const xs = hist.edges.slice(0, -1), width = hist.edges[1] - hist.edges[0];
  const axis = { stroke: color("--muted"), grid: { stroke: color("--border"), width: 1 },
    ticks: { stroke: color("--border"), width: 1 }, font: "12px system-ui, sans-serif" };
  plot = new uPlot({
    width: Math.max(240, box.clientWidth || 300), height: 200,
    scales: { x: { time: false, range: [hist.edges[0], hist.edges.at(-1)] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi) * 1.1] } },
    axes: [{ ...axis, label: "tokens", labelSize: 18, labelFont: "12px system-ui, sans-serif" },
           { ...axis, size: 44, values: (u, vals) => vals.map(v => (Number.isInteger(v) ? String(v) : "")) }],
    legend: { show: true, live: true },
    cursor: { points: { show: false } },
    series: [
      { label: "bin", value: (u, v) => (v === null || v === undefined ? "" : `${v}–${v + width - 1} tokens`) },
      { label: "records", stroke: color("--accent"), fill: color("--accent") + "99", width: 1,
        paths: uPlot.paths.bars({ size: [0.92, Infinity], align: 1 }), points: { show: false } },
    ],
  }, [xs, hist.counts], box);
}

export function resizeHistogram(box) { plot?.setSize({ width: Math.max(240, box.clientWidth), height: 200 }); }

// An upload's 400 for a bad record: where it is, why, and the lines around it from the file itself.
export async function fileError(box, file, error) {
  const line = error.tunelab_line, record = error.tunelab_record, field = error.param;
  const where = [line ? `line ${line}` : record !== null && record !== undefined ? `record ${record}` : null,
    field ? `field ${field}` : null].filter(Boolean).join(", ");
  const reason = error.tunelab_reason || error.message;
  const parts = [el("div", { class: "file-error-head" }, el("strong", {}, error.tunelab_file || file?.name || "the file"),
    where ? el("span", { class: "where" }, where) : null),
    el("div", { class: "reason" }, where ? `${where}: ${reason}` : error.message)];
  if (line && file && file.size < 64 * 1024 * 1024) {
    const lines = (await file.slice(0, 8 * 1024 * 1024).text()).split(/\r?\n/);
    const from = Math.max(1, line - 2), to = Math.min(lines.length, line + 2);
    parts.push(el("pre", { class: "excerpt", "aria-label": `lines ${from} to ${to} of the file` },
      lines.slice(from - 1, to).map((text, i) => el("div", { class: from + i === line ? "bad" : null },
        el("span", { class: "ln" }, String(from + i)), text.length > 400 ? text.slice(0, 400) + " …" : text))));
  }
  clear(box, parts);
  box.hidden = false;
}
