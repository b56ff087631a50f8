// overview.js - health at a glance: state, traffic totals with live
// charts, workers and their load, recent warnings and errors.
"use strict";

import { LineChart } from "../chart.js";
import { $, el, fillTable, fmt, fmtBits, num } from "../dom.js";

let packets, bytes;
const workerCycles = new Map(); // worker index -> {busy, idle} at the last poll

// Totals over every port (bond members excluded: the bond counts them).
function totals(shared) {
  const r = shared.rates;
  const t = { rx: 0, tx: 0, rxBytes: 0, txBytes: 0 };
  for (const p of shared.ports) {
    if (p.kind === "bond-member") continue;
    const s = p.stats || {};
    t.rx += r.rate("port." + p.name + ".rx_packets", s.rx_packets) || 0;
    t.tx += r.rate("port." + p.name + ".tx_packets", s.tx_packets) || 0;
    t.rxBytes += r.rate("port." + p.name + ".rx_bytes", s.rx_bytes) || 0;
    t.txBytes += r.rate("port." + p.name + ".tx_bytes", s.tx_bytes) || 0;
  }
  t.drops = r.rate("drops_total", shared.stats.drops_total) || 0;
  return t;
}

function record(shared) {
  const t = totals(shared);
  packets.push(shared.rates.t, { rx: t.rx, tx: t.tx, drops: t.drops });
  bytes.push(shared.rates.t, { rx: t.rxBytes * 8, tx: t.txBytes * 8 });
  return t;
}

function workerLoad(w) {
  // Load over the last poll, not since start: busy share of the cycles.
  const before = workerCycles.get(w.index);
  workerCycles.set(w.index, { busy: w.busy_cycles, idle: w.idle_cycles });
  const busy = w.busy_cycles - (before ? before.busy : 0);
  const idle = w.idle_cycles - (before ? before.idle : 0);
  return busy + idle > 0 ? (100 * busy) / (busy + idle) : undefined;
}

export default {
  id: "overview",
  init(section) {
    packets = new LineChart($("#chart-packets", section), [
      { key: "rx", label: "rx pkt/s", color: "#58a6ff" },
      { key: "tx", label: "tx pkt/s", color: "#3fb950" },
      { key: "drops", label: "drops/s", color: "#f85149" }]);
    bytes = new LineChart($("#chart-bits", section), [
      { key: "rx", label: "rx bit/s", color: "#58a6ff" },
      { key: "tx", label: "tx bit/s", color: "#3fb950" }]);
  },
  record,
  async update(shared, section) {
    const { status, stats } = shared;
    const t = record(shared);
    const cards = [
      ["state", status.state, status.state === "running" ? "up" : "down"],
      ["uptime", $("#uptime").textContent.replace(/^up /, "")],
      ["rx packets/s", fmt(t.rx)], ["tx packets/s", fmt(t.tx)],
      ["rx", fmtBits(t.rxBytes)], ["tx", fmtBits(t.txBytes)],
      ["drops/s", fmt(t.drops), t.drops > 0 ? "down" : ""],
      ["drops total", fmt(stats.drops_total)],
      ["mbufs in use", status.mbufs ? `${fmt(status.mbufs.in_use)} / ${fmt(status.mbufs.size)}` : "–"],
      ["stages · ports · plugins", `${status.stages} · ${status.ports} · ${status.plugins}`],
    ];
    $("#overview-cards", section).replaceChildren(...cards.map(([label, value, cls]) =>
      el("div", { class: "card" }, el("span", { class: "label", text: label }),
         el("span", { class: "big " + (cls || ""), dataset: { id: "overview." + label }, text: value }))));
    packets.draw();
    bytes.draw();
    fillTable($("#workers", section), status.workers.map((w) => {
      const load = workerLoad(w);
      return [w.index, w.lcore, w.running ? { text: "running", cls: "up" } : { text: "stopped", cls: "down" },
        { node: el("span", { class: "meter" }, el("span", { style: `width:${(load || 0).toFixed(0)}%` })),
          id: `worker.${w.index}.load`, value: load === undefined ? "" : load.toFixed(1),
          title: "busy share of the last second" },
        load === undefined ? "–" : load.toFixed(1) + " %",
        num(shared.rates.rate(`worker.${w.index}.walks`, w.walks)),
        num(shared.rates.rate(`worker.${w.index}.sleeps`, w.sleeps)),
        num(w.walks, `worker.${w.index}.walks`)];
    }), "no workers");
    const log = status.recent_log || [];
    $("#recent-log", section).replaceChildren(...(log.length ? log.map((line) =>
      el("div", { class: /\b(error|critical)\b/.test(line) ? "down" : "warn", text: line.trimEnd() }))
      : [el("div", { class: "muted", text: "no warnings or errors" })]));
  },
};
