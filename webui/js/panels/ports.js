// ports.js - every port, bond and VLAN interface: link, driver, queues,
// offloads, rates, drops and errors; bond members with their LACP state;
// a chart of the selected port.
"use strict";

import { LineChart } from "../chart.js";
import { $, el, fillTable, fmt, fmtBits, num } from "../dom.js";

let chart;
let selected = "";
const history = new Map(); // port -> [{t, rx, tx}]

const hex = (n) => (n ? "0x" + n.toString(16) : "none");

function link(p) {
  const l = p.link || {};
  const text = l.up ? `up ${l.speed_mbps ? fmt(l.speed_mbps * 1e6, "bit/s") : ""}${l.full_duplex ? " FD" : ""}` : "down";
  return { text, cls: l.up ? "up" : "down", id: `port.${p.name}.link`, value: l.up ? "up" : "down" };
}

function memberRows(p) {
  const members = (p.details && p.details.members) || [];
  return members.map((m) => {
    const lacp = m.lacp;
    return [p.name, m.name, { text: m.link_up ? "up" : "down", cls: m.link_up ? "up" : "down" },
      { text: m.active ? "active" : "inactive", cls: m.active ? "up" : "muted", id: `bond.${p.name}.${m.name}.active`,
        value: String(!!m.active) },
      lacp ? lacp.selection : "–", lacp ? JSON.stringify(lacp.actor_state) : "–",
      lacp ? `${lacp.partner_system} ${JSON.stringify(lacp.partner_state)}` : "–"];
  });
}

export default {
  id: "ports",
  init(section) {
    chart = new LineChart($("#chart-port", section), [
      { key: "rx", label: "rx pkt/s", color: "#58a6ff" },
      { key: "tx", label: "tx pkt/s", color: "#3fb950" }]);
  },
  async update(shared, section) {
    const r = shared.rates;
    const rows = shared.ports.map((p) => {
      const s = p.stats || {};
      const k = "port." + p.name + ".";
      const rx = r.rate(k + "rx_packets", s.rx_packets), tx = r.rate(k + "tx_packets", s.tx_packets);
      const rxb = r.rate(k + "rx_bytes", s.rx_bytes), txb = r.rate(k + "tx_bytes", s.tx_bytes);
      const h = history.get(p.name) || [];
      h.push({ t: r.t, rx: rx || 0, tx: tx || 0 });
      while (h.length > 300) h.shift();
      history.set(p.name, h);
      const drops = (s.rx_missed || 0) + (s.rx_nombuf || 0);
      const errors = (s.rx_errors || 0) + (s.tx_errors || 0);
      return {
        attrs: { class: p.name === selected ? "selected clickable" : "clickable", onclick: () => { selected = p.name; } },
        cells: [{ text: p.name, id: `port.${p.name}.name`, value: p.name }, p.kind, p.driver, link(p),
          num(p.mtu, `port.${p.name}.mtu`), p.mac, `${p.rx_queues}/${p.tx_queues}`,
          { text: `rx ${hex(p.rx_offloads)} tx ${hex(p.tx_offloads)}`, title: `capable: rx ${hex(p.rx_offload_capa)} tx ${hex(p.tx_offload_capa)}` },
          num(rx, `port.${p.name}.rx_rate`), num(tx, `port.${p.name}.tx_rate`),
          { text: fmtBits(rxb), cls: "num" }, { text: fmtBits(txb), cls: "num" },
          num(s.rx_packets, `port.${p.name}.rx_packets`), num(s.tx_packets, `port.${p.name}.tx_packets`),
          num(drops, `port.${p.name}.drops`), num(errors, `port.${p.name}.errors`)],
      };
    });
    fillTable($("#ports-table", section), rows, "no ports");
    fillTable($("#bond-members", section), shared.ports.flatMap(memberRows), "no bonds");
    $("#bond-section", section).hidden = !shared.ports.some((p) => p.details && p.details.members);
    if (!shared.ports.some((p) => p.name === selected)) selected = shared.ports.length ? shared.ports[0].name : "";
    $("#port-chart-title", section).textContent = selected ? `Port ${selected}` : "";
    chart.samples = (history.get(selected) || []).map((s) => ({ t: s.t, values: { rx: s.rx, tx: s.tx } }));
    chart.draw();
    const sel = shared.ports.find((p) => p.name === selected);
    const xstats = sel && sel.xstats ? Object.entries(sel.xstats) : [];
    fillTable($("#port-xstats", section), xstats.map(([k, v]) =>
      [k, num(v), num(r.rate(`port.${selected}.x.${k}`, v))]), "no extended statistics");
  },
};
