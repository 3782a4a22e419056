// The ingest form: files uploaded from this browser (POST /v1/rag/uploads) and/or paths on the
// server, then one ingest job (POST /v1/jobs kind ingest) followed until it ends, with each
// source's counts.
import { api, badge, clear, el, table } from "/static/js/app.js";
import { NAME_RE, NAME_RULE, clearFieldErrors, followJob, jobLink, showFieldErrors, showServerError }
  from "/static/js/registry-common.js";

const BATCH = 3 * 1024 * 1024;

function intField(form, name, min, errors) {
  const raw = form.elements[name].value.trim();
  if (!raw) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min) { errors[name] = `A whole number, ${min} or more.`; return undefined; }
  return Number(raw);
}

export function ingestForm(form, { onDone }) {
  const status = form.querySelector("#ingest-status");
  const result = form.querySelector("#ingest-result");

  function read() {
    const errors = {};
    const collection = form.elements.collection.value.trim();
    if (!collection) errors.collection = "Name the collection to ingest into.";
    else if (!NAME_RE.test(collection)) errors.collection = `The name must be ${NAME_RULE}.`;
    const files = [...form.elements.files.files];
    const sources = form.elements.sources.value.split("\n").map(s => s.trim()).filter(Boolean);
    if (!files.length && !sources.length) errors.files = "Choose files to upload, or give paths on the server.";
    const bad = sources.find(s => !/^(https?:\/\/|\/|~)/.test(s));
    if (bad) errors.sources = `'${bad}' is neither an absolute path nor an http(s):// URL.`;
    const config = { collection, sources };
    const size = intField(form, "chunk_size", 1, errors);
    const overlap = intField(form, "chunk_overlap", 0, errors);
    if (size !== undefined) config.chunk_size = size;
    if (overlap !== undefined) config.chunk_overlap = overlap;
    if (size !== undefined && overlap !== undefined && overlap >= size) errors.chunk_overlap = "The overlap must be smaller than the chunk size.";
    if (form.elements.chunk_unit.value) config.chunk_unit = form.elements.chunk_unit.value;
    const mapping = form.elements.mapping.value.trim();
    if (mapping) config.mapping = mapping;
    if (errors.chunk_size || errors.chunk_overlap) form.querySelector("details").open = true;
    return { errors, config, files };
  }

  // Files go in batches of at most BATCH bytes (one folder each on the server), under the
  // server's default 4 MiB body limit; a larger file goes alone and gets the server's message.
  async function upload(files) {
    const batches = [];
    for (const file of files) {
      const last = batches[batches.length - 1];
      if (last && last.bytes + file.size <= BATCH) { last.files.push(file); last.bytes += file.size; }
      else batches.push({ files: [file], bytes: file.size });
    }
    const paths = [];
    for (const [i, batch] of batches.entries()) {
      clear(status, `uploading ${batch.files.length} file${batch.files.length > 1 ? "s" : ""}` +
        (batches.length > 1 ? ` (part ${i + 1} of ${batches.length})` : ""));
      const data = new FormData();
      for (const file of batch.files) data.append("files", file, file.name);
      const r = await api("/v1/rag/uploads", { method: "POST", form: data });
      paths.push(...r.data.map(f => f.path));
    }
    return paths;
  }

  function showResult(job) {
    const sources = Object.entries(job.result?.sources || {});
    clear(result, sources.length ? table([
      { label: "source", value: ([s]) => el("span", { class: "src", title: s }, s.split("/").pop()) },
      ...["added", "updated", "unchanged", "failed", "chunks"].map(k => ({ label: k, num: true, value: ([, n]) => n[k] ?? 0 })),
    ], sources) : null, job.error ? el("p", { class: "error" }, job.error) : null);
  }

  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    clearFieldErrors(form);
    clear(result);
    const { errors, config, files } = read();
    if (!showFieldErrors(form, errors)) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      config.sources = [...(files.length ? await upload(files) : []), ...config.sources];
      const job = await api("/v1/jobs", { method: "POST", body: { kind: "ingest", config } });
      const show = j => clear(status, jobLink(j), " ", badge(j.status));
      show(job);
      form.elements.files.value = "";
      followJob(job.id, show).then(j => { showResult(j); onDone(j); }).catch(err => showServerError(form, err));
    } catch (err) {
      clear(status);
      showServerError(form, err, p => (p === "sources" ? "sources" : p));
    } finally { button.disabled = false; }
  });
}
