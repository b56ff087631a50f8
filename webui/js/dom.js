// dom.js - small helpers: building elements, formatting numbers, filling
// tables, and turning counters into per-second rates.
"use strict";

export const $ = (sel, root = document) => root.querySelector(sel);

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c);
  return e;
}

export function fmt(n, unit = "") {
  if (n === undefined || n === null || Number.isNaN(n)) return "–";
  const a = Math.abs(n);
  let s;
  if (a >= 1e12) s = (n / 1e12).toFixed(2) + " T";
  else if (a >= 1e9) s = (n / 1e9).toFixed(2) + " G";
  else if (a >= 1e6) s = (n / 1e6).toFixed(2) + " M";
  else if (a >= 1e4) s = (n / 1e3).toFixed(1) + " k";
  else s = Number.isInteger(n) ? String(n) : n.toFixed(a < 10 ? 1 : 0);
  return unit ? s + (s.endsWith(" ") ? "" : " ") + unit : s;
}

export const fmtBits = (bytesPerSecond) =>
  bytesPerSecond === undefined ? "–" : fmt(bytesPerSecond * 8, "bit/s").replace("  ", " ");

export function fmtDuration(s) {
  s = Math.floor(s || 0);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
}

// A table cell: plain text, or {text, cls, id, value, title}. `id` and the
// raw `value` land in data attributes (tests compare them with oryxctl).
export function cell(c, tag = "td") {
  if (c instanceof Node) return el(tag, {}, c);
  if (c !== null && typeof c === "object") {
    return el(tag, { class: c.cls, title: c.title, dataset: { id: c.id, value: c.value } },
              c.node || c.text);
  }
  return el(tag, { class: typeof c === "number" ? "num" : undefined }, typeof c === "number" ? fmt(c) : c ?? "–");
}

// Fills a table's body, touching only what changed since the last poll: a
// cell the operator is about to click (a Stop button) stays the same
// element while its row's counters tick. A row is kept only if its own
// attributes and its first cell (which names the row) are unchanged, so a
// kept listener never acts on another row's item.
export function fillTable(table, rows, emptyText = "none") {
  const tbody = table.tBodies[0] || table.appendChild(el("tbody"));
  const cols = table.tHead ? table.tHead.rows[0].cells.length : 1;
  const fresh = rows.length
    ? rows.map((r) => el("tr", r.attrs || {}, (r.cells || r).map((c) => cell(c))))
    : [el("tr", {}, el("td", { class: "muted", colspan: cols, text: emptyText }))];
  const old = [...tbody.rows];
  fresh.forEach((tr, i) => {
    const kept = old[i];
    if (!kept) tbody.append(tr);
    else if (kept.cells.length !== tr.cells.length || !kept.cloneNode(false).isEqualNode(tr.cloneNode(false)) ||
             !kept.cells[0].isEqualNode(tr.cells[0]))
      kept.replaceWith(tr);
    else [...tr.cells].forEach((c, j) => { if (!kept.cells[j].isEqualNode(c)) kept.cells[j].replaceWith(c); });
  });
  for (const tr of old.slice(fresh.length)) tr.remove();
}

export function num(value, id, text) {
  return { text: text ?? fmt(value), cls: "num", id, value: value ?? "" };
}

// Per-second rates of named counters: each key remembers its last value
// and when it was read, so a panel shown after a while starts right.
export class Rates {
  constructor() { this.last = new Map(); this.t = 0; }
  tick(t) { this.t = t; }  // the time (seconds) of the poll being drawn
  rate(key, value) {
    if (typeof value !== "number") return undefined;
    const b = this.last.get(key);
    if (b && b.t === this.t) return b.rate;  // asked twice in one poll
    let rate;
    if (b && this.t > b.t) rate = Math.max(0, (value - b.v) / (this.t - b.t));
    this.last.set(key, { v: value, t: this.t, rate });
    return rate;
  }
}

// Shows an error in a panel's banner (never a blank panel), or hides it.
export function panelError(panel, error) {
  let box = panel.querySelector(":scope > .panel-error");
  if (!box) {
    box = el("div", { class: "panel-error", role: "alert" });
    panel.querySelector("h2").after(box);
  }
  box.hidden = !error;
  box.textContent = error ? "Cannot show this panel: " + error.message : "";
}
