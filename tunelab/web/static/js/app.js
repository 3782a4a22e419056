// Shared by every page: calls to the HTTP API (with the session's CSRF token), safe DOM building,
// toasts for errors (never a traceback), the theme toggle, and event streams that reconnect.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

export class ApiError extends Error {
  constructor(status, message, body) { super(message); this.status = status; this.body = body; }
}

// fetch an API path; JSON in and out. `form` sends a FormData (uploads). Errors become ApiError with
// the server's own message (OpenAI's shape: {"error": {"message": ...}}).
export async function api(path, { method = "GET", body, form, signal, raw = false } = {}) {
  const headers = {};
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: payload, signal, credentials: "same-origin" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    setConnected(false);
    throw new ApiError(0, "The server cannot be reached; retrying when it is back.");
  }
  setConnected(true);
  if (resp.status === 401 && document.body.dataset.noRedirect === undefined) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
  }
  if (raw && resp.ok) return resp;
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!resp.ok) {
    const msg = data?.error?.message || data?.detail?.[0]?.msg || data?.detail || `HTTP ${resp.status}`;
    throw new ApiError(resp.status, typeof msg === "string" ? msg : JSON.stringify(msg), data);
  }
  return data;
}

export function headersForStream() {
  const h = { "Content-Type": "application/json" };
  if (csrf) h["X-CSRF-Token"] = csrf;
  return h;
}

// el("td", {class: "num"}, "text", childNode): text always goes in as text, never as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "value") node.value = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node, ...children) { node.replaceChildren(...children.flat().filter(Boolean)); return node; }

// A table from columns [{label, value: row => text|Node, num?}] and rows; an empty note when none.
export function table(columns, rows, { empty = "Nothing yet.", rowAttrs } = {}) {
  if (!rows.length) return el("p", { class: "empty" }, empty);
  return el("div", { class: "table-wrap" }, el("table", {},
    el("thead", {}, el("tr", {}, columns.map(c => el("th", { class: c.num ? "num" : null }, c.label)))),
    el("tbody", {}, rows.map(r => el("tr", rowAttrs ? rowAttrs(r) : {},
      columns.map(c => el("td", { class: c.num ? "num" : null }, c.value(r))))))));
}

export function badge(text) { return el("span", { class: `badge ${text}` }, text); }

export function toast(message, kind = "info", ms = 6000) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const t = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  box.append(t);
  setTimeout(() => t.remove(), ms);
}

export function reportError(err) {
  if (err?.name === "AbortError") return;
  toast(err?.message || String(err), "error");
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso.endsWith("Z") || iso.includes("+") ? iso : iso + "Z");
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

export function fmtNum(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (typeof x !== "number") return String(x);
  return Number.isInteger(x) ? x.toLocaleString() : x.toFixed(digits);
}

export function fmtBytes(n) {
  if (!n && n !== 0) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function setConnected(ok) { document.getElementById("conn")?.classList.toggle("lost", !ok); }

// An EventSource that the browser reconnects on its own (sending Last-Event-ID), with the
// connection dot showing when it is lost. Returns the EventSource; `handlers` maps event -> fn(data, id).
export function follow(path, handlers) {
  const source = new EventSource(path, { withCredentials: true });
  source.onopen = () => setConnected(true);
  source.onerror = () => setConnected(source.readyState === EventSource.OPEN);
  for (const [name, fn] of Object.entries(handlers)) {
    source.addEventListener(name, ev => {
      let data = ev.data;
      try { data = JSON.parse(ev.data); } catch { /* plain text */ }
      fn(data, ev.lastEventId);
    });
  }
  return source;
}

// Repeat `fn` every `ms` while the page is visible; errors go to a toast once, not every time.
export function poll(fn, ms) {
  let failing = false;
  const tick = async () => {
    if (document.visibilityState === "visible") {
      try { await fn(); failing = false; } catch (err) { if (!failing) reportError(err); failing = true; }
    }
  };
  tick();
  return setInterval(tick, ms);
}

window.addEventListener("unhandledrejection", ev => { reportError(ev.reason); ev.preventDefault(); });

document.getElementById("theme-toggle")?.addEventListener("click", () => {
  const order = ["auto", "light", "dark"];
  const next = order[(order.indexOf(document.documentElement.dataset.theme) + 1) % order.length];
  document.documentElement.dataset.theme = next;
  localStorage.setItem("tunelab.theme", next);
  toast(`Theme: ${next}`, "info", 1500);
});
