// graph.js - the stage graph as a diagram: stages in columns by distance
// from the first stage, edges as arrows, each box with its packet rate and
// drops; clicking a stage shows its configuration and counters.
"use strict";

import { get } from "../api.js";
import { $, el, fillTable, fmt, num } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";
const BOX_W = 170, BOX_H = 58, GAP_X = 90, GAP_Y = 26;
let selected = "";
let graphCache = null, configCache = null;

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Stages (and the edges between them) from the node graph: a stage's
// nodes are "<stage>" and "<stage>.rx"; edges to the drop sink become the
// stage's drop counter instead of arrows.
function stageGraph(graph, stats, config) {
  const stageOf = new Map(graph.nodes.map((n) => [n.name, n.stage]));
  const order = [...Object.keys(config.stage || {}), ...Object.keys(stats.stages)];
  const stages = [...new Set(order)].filter((s) => !(config.service || {})[s]);
  const edges = new Set();
  for (const e of graph.edges) {
    const a = stageOf.get(e.from), b = stageOf.get(e.to);
    if (a && b && a !== b) edges.add(a + "\u0000" + b);
  }
  return { stages, edges: [...edges].map((k) => k.split("\u0000")) };
}

function layout(stages, edges) {
  const next = new Map(stages.map((s) => [s, []]));
  for (const [a, b] of edges) if (next.has(a)) next.get(a).push(b);
  const column = new Map();
  for (const root of stages) {
    if (column.has(root)) continue;
    column.set(root, 0);
    const queue = [root];
    while (queue.length) {
      const s = queue.shift();
      for (const n of next.get(s) || [])
        if (!column.has(n)) { column.set(n, column.get(s) + 1); queue.push(n); }
    }
  }
  const rows = new Map(), pos = new Map();
  for (const s of stages) {
    const c = column.get(s) || 0;
    const r = rows.get(c) || 0;
    rows.set(c, r + 1);
    pos.set(s, { x: 20 + c * (BOX_W + GAP_X), y: 20 + r * (BOX_H + GAP_Y) });
  }
  return pos;
}

function draw(section, shared, graph, config) {
  const { stages, edges } = stageGraph(graph, shared.stats, config);
  const pos = layout(stages, edges);
  const width = Math.max(...[...pos.values()].map((p) => p.x + BOX_W), 300) + 20;
  const height = Math.max(...[...pos.values()].map((p) => p.y + BOX_H), 80) + 30;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
                            "aria-label": "stage graph" });
  const defs = svg("defs", {});
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
                                 markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8b98a5" }));
  defs.append(marker);
  root.append(defs);
  for (const [a, b] of edges) {
    const p = pos.get(a), q = pos.get(b);
    if (!p || !q) continue;
    let d;
    if (q.x > p.x) {
      const x1 = p.x + BOX_W, y1 = p.y + BOX_H / 2 - 6, x2 = q.x, y2 = q.y + BOX_H / 2 - 6;
      d = `M${x1},${y1} C${x1 + 40},${y1} ${x2 - 40},${y2} ${x2},${y2}`;
    } else { // back edge: below the boxes
      const x1 = p.x + BOX_W / 2 - 10, y1 = p.y + BOX_H, x2 = q.x + BOX_W / 2 + 10, y2 = q.y + BOX_H;
      d = `M${x1},${y1} C${x1},${y1 + 34} ${x2},${y2 + 34} ${x2},${y2}`;
    }
    root.append(svg("path", { d, class: "edge", "marker-end": "url(#arrow)", "data-edge": `${a}->${b}` }));
  }
  for (const s of stages) {
    const p = pos.get(s);
    const st = shared.stats.stages[s] || { counters: {}, type: "" };
    const rate = shared.rates.rate(`stage.${s}.packets`, st.counters.packets);
    const g = svg("g", { class: "stage" + (s === selected ? " selected" : ""), "data-stage": s,
                         transform: `translate(${p.x},${p.y})`, tabindex: 0 });
    g.append(svg("rect", { width: BOX_W, height: BOX_H, rx: 6 }));
    g.append(svg("text", { x: 10, y: 18, class: "name" }, s));
    g.append(svg("text", { x: BOX_W - 10, y: 18, class: "type", "text-anchor": "end" }, st.type));
    g.append(svg("text", { x: 10, y: 36, class: "value", "data-id": `graph.${s}.rate` }, `${fmt(rate)} pkt/s`));
    g.append(svg("text", { x: 10, y: 51, class: "value" + (st.counters.drops ? " drops" : ""),
                           "data-id": `graph.${s}.drops`, "data-value": st.counters.drops ?? "" },
                 `drops ${fmt(st.counters.drops)}`));
    g.addEventListener("click", () => { selected = s; draw(section, shared, graph, config); details(section, shared, config); });
    root.append(g);
  }
  $("#graph-diagram", section).replaceChildren(root);
  const services = Object.keys(config.service || {});
  $("#graph-services", section).replaceChildren(...services.map((s) => el("button", {
    class: "chip" + (s === selected ? " selected" : ""), text: `${s} (${config.service[s].type})`,
    onclick: () => { selected = s; details(section, shared, config); } })));
  $("#graph-services-row", section).hidden = !services.length;
}

function details(section, shared, config) {
  const box = $("#graph-details", section);
  if (!selected) { box.hidden = true; return; }
  box.hidden = false;
  const cfg = (config.stage || {})[selected] || (config.service || {})[selected] || {};
  const st = shared.stats.stages[selected] || { counters: {} };
  $("#graph-details-title", section).textContent = `${selected} (${cfg.type || st.type || "?"})`;
  fillTable($("#graph-config", section), Object.entries(cfg).map(([k, v]) =>
    [k, typeof v === "object" ? JSON.stringify(v) : String(v)]), "no configuration");
  fillTable($("#graph-counters", section), Object.entries(st.counters).filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [k, num(v, `stage.${selected}.${k}`), num(shared.rates.rate(`stage.${selected}.${k}`, v))]),
  "no counters");
}

export default {
  id: "graph",
  init() {},
  async update(shared, section) {
    // The graph and config do not change while running: read them once.
    if (!graphCache) [graphCache, configCache] = await Promise.all([get("/api/v1/graph"), get("/api/v1/config")]);
    draw(section, shared, graphCache, configCache);
    details(section, shared, configCache);
  },
};
