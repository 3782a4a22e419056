// The lineage graph (base -> SFT -> DPO -> merges) as SVG, laid out in layers left to right:
// a node's layer is one past its deepest parent (longest path), nodes within a layer are ordered
// by the mean position of their neighbours (a few barycentre sweeps, fewer crossings), edges are
// curves with an arrow. Text is set with textContent only.

const SVG = "http://www.w3.org/2000/svg";
export const NODE_W = 168, NODE_H = 46, GAP_X = 64, GAP_Y = 18, PAD = 12;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// {nodes, edges} from GET /v1/lineage -> {pos: {id: {x, y, layer}}, routes: [{edge, points}], width, height}.
// An edge that spans several layers passes through a virtual node in each layer between, which takes
// a slot in that layer's order: the edge gets a lane of its own instead of running behind nodes.
export function layout(nodes, edges) {
  const ids = nodes.map(n => n.id);
  const byId = Object.fromEntries(nodes.map(n => [n.id, n]));
  const real = edges.filter(e => e.source in byId && e.target in byId);
  const parentsOf = Object.fromEntries(ids.map(i => [i, []]));
  for (const e of real) parentsOf[e.target].push(e.source);
  const layer = {};
  const visiting = new Set();
  const depth = id => {
    if (id in layer) return layer[id];
    if (visiting.has(id)) return 0; // a cycle cannot come from the registry; never loop on one
    visiting.add(id);
    const ps = parentsOf[id];
    const d = byId[id].type === "base" ? 0 : ps.length ? 1 + Math.max(...ps.map(depth)) : 1;
    visiting.delete(id);
    return (layer[id] = d);
  };
  ids.forEach(depth);
  // chains of virtual nodes: edge i spanning layers a..b gets "~i~l" for each layer l in between
  const up = Object.fromEntries(ids.map(i => [i, []])), down = Object.fromEntries(ids.map(i => [i, []]));
  const chains = real.map((e, i) => {
    const chain = [e.source];
    for (let l = layer[e.source] + 1; l < layer[e.target]; l++) {
      const v = `~${i}~${l}`;
      layer[v] = l; up[v] = []; down[v] = [];
      chain.push(v);
    }
    chain.push(e.target);
    for (let k = 1; k < chain.length; k++) { up[chain[k]].push(chain[k - 1]); down[chain[k - 1]].push(chain[k]); }
    return chain;
  });
  const layers = [];
  for (const id of Object.keys(layer)) (layers[layer[id]] ||= []).push(id);
  for (let i = 0; i < layers.length; i++) layers[i] ||= [];
  const order = () => Object.fromEntries(layers.flatMap(l => l.map((id, i) => [id, i])));
  const mean = (list, at) => list.length ? list.reduce((s, x) => s + at[x], 0) / list.length : null;
  for (let sweep = 0; sweep < 6; sweep++) {
    const downward = sweep % 2 === 0;
    const seq = layers.map((_, i) => i);
    for (const li of (downward ? seq.slice(1) : seq.reverse().slice(1))) {
      const at = order();
      const key = Object.fromEntries(layers[li].map((id, i) => [id, mean(downward ? up[id] : down[id], at) ?? i]));
      layers[li] = [...layers[li]].sort((a, b) => key[a] - key[b] || at[a] - at[b]);
    }
  }
  const tallest = Math.max(1, ...layers.map(l => l.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y;
  const pos = {};
  layers.forEach((l, li) => {
    const span = l.length * NODE_H + (l.length - 1) * GAP_Y;
    const top = (height - span) / 2;
    l.forEach((id, i) => { pos[id] = { x: PAD + li * (NODE_W + GAP_X), y: top + i * (NODE_H + GAP_Y), layer: li }; });
  });
  // ports: a node's incoming (outgoing) edges meet its left (right) side spread out, in the order
  // of where they come from, so merge inputs and their weight labels do not sit on one another
  const port = (id, others) => {
    const sorted = [...others].sort((a, b) => pos[a].y - pos[b].y);
    return other => pos[id].y + NODE_H * (sorted.indexOf(other) + 1) / (sorted.length + 1);
  };
  const inPort = Object.fromEntries(Object.keys(pos).map(id => [id, port(id, up[id])]));
  const outPort = Object.fromEntries(Object.keys(pos).map(id => [id, port(id, down[id])]));
  const routes = chains.map((chain, i) => {
    const points = [];
    for (let k = 0; k < chain.length; k++) {
      const id = chain[k], p = pos[id];
      if (k > 0) points.push([p.x, chain[k].startsWith("~") ? p.y + NODE_H / 2 : inPort[id](chain[k - 1])]);
      if (k < chain.length - 1) points.push([p.x + NODE_W, id.startsWith("~") ? p.y + NODE_H / 2 : outPort[id](chain[k + 1])]);
    }
    return { edge: real[i], points };
  });
  const width = PAD * 2 + layers.length * NODE_W + Math.max(0, layers.length - 1) * GAP_X;
  return { layers, pos, routes, width, height };
}

// points alternate: leave a node (right side), reach the next (left side); curves between layers,
// straight lines through the virtual nodes' slots
function pathOf(points) {
  let d = `M${points[0][0]},${points[0][1]}`;
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1], [x1, y1] = points[i];
    if (i % 2 === 1) { const mid = (x0 + x1) / 2; d += ` C${mid},${y0} ${mid},${y1} ${x1 - (i === points.length - 1 ? 2 : 0)},${y1}`; }
    else d += ` L${x1},${y1}`;
  }
  return d;
}

function clip(text, n = 22) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }

function subtitle(n, loaded) {
  if (n.type === "base") return "base model";
  if (n.type === "missing") return "no longer registered";
  const how = n.made_by === "registered" ? "added" : n.made_by.toUpperCase();
  return [how, n.method, loaded ? "● loaded" : null].filter(Boolean).join(" · ");
}

// Draw into `container`; `onSelect(id)` when an adapter node is clicked (or Enter/Space on it).
export function drawGraph(container, graph, { selected = null, loaded = [], onSelect } = {}) {
  const { nodes, edges } = graph;
  if (!nodes.length) {
    container.replaceChildren(Object.assign(document.createElement("p"),
      { className: "empty", textContent: "No adapters yet: train one, or register one with tunelab adapters add." }));
    return;
  }
  const { pos, routes, width, height } = layout(nodes, edges);
  const loadedSet = new Set(loaded);
  const root = svg("svg", { class: "lineage", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `Lineage of ${nodes.filter(n => n.type === "adapter").length} adapters` });
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
    orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }));
  defs.append(marker);
  root.append(defs);
  const edgeLayer = svg("g", { class: "edges" });
  for (const { edge: e, points } of routes) {
    const path = svg("path", { d: pathOf(points), class: `edge ${e.relation}`, "marker-end": "url(#arrow)",
      "data-source": e.source, "data-target": e.target });
    path.append(svg("title", {}, `${e.source} → ${e.target} (${e.relation}${e.weight != null ? `, weight ${e.weight}` : ""})`));
    edgeLayer.append(path);
    if (e.weight != null) {
      const [x, y] = points[points.length - 2]; // where the last curve starts: lanes are far apart there
      edgeLayer.append(svg("text", { x: x + 5, y: y - 5, class: "edge-label" }, "×" + (+e.weight.toFixed(3))));
    }
  }
  root.append(edgeLayer);
  for (const n of nodes) {
    const p = pos[n.id];
    const kind = n.type === "adapter" ? n.made_by : n.type;
    const g = svg("g", { class: `node ${kind}${n.id === selected ? " selected" : ""}${loadedSet.has(n.id) ? " loaded" : ""}`,
      transform: `translate(${p.x},${p.y})`, "data-id": n.id, "data-type": n.type });
    g.append(svg("title", {}, n.id + (n.base_model && n.type === "adapter" ? ` (on ${n.base_model})` : "")));
    g.append(svg("rect", { width: NODE_W, height: NODE_H, rx: 9, ry: 9 }));
    g.append(svg("rect", { class: "stripe", width: 5, height: NODE_H - 12, x: 6, y: 6, rx: 2 }));
    g.append(svg("text", { x: 18, y: 19, class: "node-name" }, clip(n.id)));
    g.append(svg("text", { x: 18, y: 35, class: "node-sub" }, subtitle(n, loadedSet.has(n.id))));
    if (n.type === "adapter" && onSelect) {
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.setAttribute("aria-label", `${n.id}: ${subtitle(n, loadedSet.has(n.id))}`);
      g.addEventListener("click", () => onSelect(n.id));
      g.addEventListener("keydown", ev => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); onSelect(n.id); } });
    }
    root.append(g);
  }
  container.replaceChildren(root);
}
