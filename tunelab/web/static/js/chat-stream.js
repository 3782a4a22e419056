// One streamed chat completion: POST /v1/chat/completions with stream=true, read through fetch's
// ReadableStream as server-sent event lines, handed out as they arrive (a text delta per token).
// Aborting `signal` (the Stop button) closes the connection, and the server stops generating.
import { ApiError, headersForStream } from "/static/js/app.js";

// handlers: onText(delta), onSources(list), onCitations(list), onFinish(reason), onUsage(usage).
// Resolves when the stream ends; throws ApiError with the server's message (before or inside the
// stream), or the AbortError of a stopped stream.
export async function streamChat(body, { signal, onText, onSources, onCitations, onFinish, onUsage } = {}) {
  let resp;
  try {
    resp = await fetch("/v1/chat/completions", {
      method: "POST", headers: headersForStream(), credentials: "same-origin", signal,
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "The server cannot be reached; send again when it is back.");
  }
  if (resp.status === 401) location.href = "/login?next=" + encodeURIComponent(location.pathname);
  if (!resp.ok) throw await errorOf(resp);
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (err.name === "AbortError" || signal?.aborted) throw abortError();
        throw new ApiError(0, "The connection broke off during the answer; what came so far is kept.");
      }
      if (chunk.done) return;
      buffer += chunk.value;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, "");
        buffer = buffer.slice(nl + 1);
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        let event;
        try { event = JSON.parse(data); } catch { continue; }
        if (event.error) throw new ApiError(500, event.error.message || "The server reported an error.", event);
        if (event.tunelab_sources) onSources?.(event.tunelab_sources);
        if (event.tunelab_citations) onCitations?.(event.tunelab_citations);
        if (event.usage) onUsage?.(event.usage);
        for (const choice of event.choices || []) {
          if (choice.index !== 0) continue;
          if (choice.delta?.content) onText?.(choice.delta.content);
          if (choice.finish_reason) onFinish?.(choice.finish_reason);
        }
      }
    }
  } finally {
    reader.releaseLock?.();
  }
}

function abortError() {
  const err = new Error("Stopped"); err.name = "AbortError"; return err;
}

async function errorOf(resp) {
  const text = await resp.text();
  let data = null;
  try { data = JSON.parse(text); } catch { /* not JSON */ }
  const msg = data?.error?.message || data?.detail?.[0]?.msg || data?.detail || `HTTP ${resp.status}`;
  return new ApiError(resp.status, typeof msg === "string" ? msg : JSON.stringify(msg), data);
}

// [n] markers of a reply, as numbers (for sources the server did not mark as cited: an upstream).
export function citedNumbers(text) {
  const out = new Set();
  for (const m of text.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
    for (const n of m[1].split(",")) out.add(Number(n.trim()));
  }
  return out;
}
