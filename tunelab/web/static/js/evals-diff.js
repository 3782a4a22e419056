// A word-level diff of two texts (longest common subsequence over words), rendered as text nodes
// and <mark>/<del> spans: the words only `text` has are marked, the baseline's words it lacks are
// struck through. Text only ever goes in as text.

const MAX_CELLS = 400_000; // words(a) × words(b) above this: too long to diff in the page, marked whole

export function words(text) {
  return String(text ?? "").split(/(\s+)/).filter(t => t !== "");
}

// [{op: "same"|"add"|"del", text}] turning `base` into `text`; whitespace rides with its words.
export function diffWords(base, text) {
  const a = words(base), b = words(text);
  const wa = a.filter(t => !/^\s+$/.test(t)), wb = b.filter(t => !/^\s+$/.test(t));
  if (wa.length * wb.length > MAX_CELLS) {
    return base === text ? [{ op: "same", text }] : [{ op: "del", text: base }, { op: "add", text }];
  }
  const n = wa.length, m = wb.length;
  // lcs[i][j]: the longest common subsequence of wa[i:] and wb[j:], one flat typed array
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i, j) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[at(i, j)] = wa[i] === wb[j] ? lcs[at(i + 1, j + 1)] + 1 : Math.max(lcs[at(i + 1, j)], lcs[at(i, j + 1)]);
    }
  }
  const ops = [];
  const push = (op, word) => {
    const last = ops[ops.length - 1];
    if (last && last.op === op) last.text += " " + word;
    else ops.push({ op, text: word });
  };
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && wa[i] === wb[j]) { push("same", wa[i]); i++; j++; }
    else if (j < m && (i >= n || lcs[at(i, j + 1)] >= lcs[at(i + 1, j)])) { push("add", wb[j]); j++; }
    else { push("del", wa[i]); i++; }
  }
  return ops;
}

// A fragment of `text` against `base`: marked words where they differ. `deletions`: show the
// baseline's missing words struck through.
export function renderDiff(base, text, { deletions = true } = {}) {
  const frag = document.createDocumentFragment();
  const ops = diffWords(base, text);
  ops.forEach((o, k) => {
    if (o.op === "del" && !deletions) return;
    if (k > 0 && frag.childNodes.length) frag.append(document.createTextNode(" "));
    if (o.op === "same") frag.append(document.createTextNode(o.text));
    else {
      const node = document.createElement(o.op === "add" ? "mark" : "del");
      node.className = o.op === "add" ? "diff-add" : "diff-del";
      node.textContent = o.text;
      frag.append(node);
    }
  });
  return frag;
}

export function differs(base, text) { return String(base ?? "").trim() !== String(text ?? "").trim(); }
