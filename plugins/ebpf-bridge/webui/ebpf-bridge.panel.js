// ebpf-bridge.panel.js - the ebpf-bridge plugin's dashboard panel (served
// next to the plugin, loaded by the dashboard; see the plugin guide):
// bridges with per-port rates, and the forwarding table.
"use strict";

import { get } from "/js/api.js";
import { $, el, fillTable, fmt, fmtBits, num } from "/js/dom.js";

const FDB_LIMIT = 1000;

const HTML = `
<h2>eBPF bridge</h2>
<p id="bridge-none" class="muted" hidden>No eBPF bridge is configured (or the ebpf-bridge plugin is not loaded).</p>
<div id="bridge-body" hidden>
  <div id="bridge-summary" class="cards"></div>
  <table id="bridge-ports"><thead><tr><th>bridge</th><th>port</th><th>hook</th><th>link</th><th>rx frames/s</th><th>rx</th><th>forwarded/s</th><th>flooded/s</th><th>rx frames</th><th>dropped</th><th>learned</th></tr></thead><tbody></tbody></table>
  <div id="bridge-pods-box" hidden>
    <h3>Pods</h3>
    <p class="muted">Ports that oryx-cni added for pods (from each port's alias); sockets: TCP sockets of the pod's address that sockmap tracks.</p>
    <table id="bridge-pods"><thead><tr><th>pod</th><th>address</th><th>namespace</th><th>container</th><th>veth (port)</th><th>link</th><th>rx frames</th><th>sockmap sockets</th></tr></thead><tbody></tbody></table>
  </div>
  <h3>Forwarding table</h3>
  <table id="bridge-fdb" class="compact"><thead><tr><th>bridge</th><th>MAC</th><th>VLAN</th><th>port</th><th>last seen</th></tr></thead><tbody></tbody></table>
  <p id="bridge-fdb-truncated" class="muted" hidden>Only the first 1,000 stations are listed.</p>
</div>
`;

// oryx-cni's alias: "oryx-cni CONTAINER IFNAME NETNS ADDRESS POD" ("-": unknown).
function podOf(port) {
  const f = (port.alias || "").split(" ");
  if (f[0] !== "oryx-cni" || f.length < 6) return null;
  const v = (s) => (s === "-" ? "" : s);
  return { container: f[1], ifname: f[2], netns: v(f[3]), address: v(f[4]), name: v(f[5]) };
}

// Tracked sockets per IP address, from GET /api/v1/sockmap.
function socketsByAddress(sm) {
  const n = new Map();
  const add = (ep) => { const ip = (ep || "").replace(/:\d+$/, "").replace(/^\[|\]$/g, ""); n.set(ip, (n.get(ip) || 0) + 1); };
  for (const s of (sm && sm.services) || []) {
    for (const p of s.pairs || []) { add(p.a); add(p.b); }
    for (const u of s.unpaired || []) add(u.local || u);
  }
  return n;
}

function pods(section, j, sm) {
  const byIp = socketsByAddress(sm);
  const rows = j.bridges.flatMap((b) => b.ports.map((p) => [p, podOf(p)]).filter(([, pod]) => pod).map(([p, pod]) => {
    const ip = pod.address.replace(/\/\d+$/, "");
    return [{ text: pod.name || pod.container.slice(0, 12), id: `pod.${p.name}.name`, value: pod.name || pod.container },
      { text: pod.address || "–", id: `pod.${p.name}.address`, value: pod.address },
      pod.netns || "–", pod.container.slice(0, 12),
      { text: `${p.name} (${b.name})`, id: `pod.${p.name}.port`, value: p.name },
      { text: !p.present ? "absent" : p.up ? "up" : "down", cls: p.up ? "up" : "down" },
      num(p.counters.rx_frames),
      num(byIp.get(ip) || 0, `pod.${p.name}.sockets`)];
  }));
  $("#bridge-pods-box", section).hidden = rows.length === 0;
  fillTable($("#bridge-pods", section), rows, "no pods");
}

function bridges(section, shared, j, fdb) {
  const any = !!(j && j.bridges.length);
  $("#bridge-none", section).hidden = any;
  $("#bridge-body", section).hidden = !any;
  if (!any) return;
  const r = shared.rates;
  fillTable($("#bridge-ports", section), j.bridges.flatMap((b) => b.ports.map((p) => {
    const c = p.counters, k = `bridge.${b.name}.${p.name}.`;
    const link = !p.present ? "absent" : p.up ? "up" : "down";
    return [b.name, { text: p.name, id: `bridge.${b.name}.${p.name}`, value: p.name },
      p.hook === "tc" ? `tc/${p.redirect}` : `xdp/${p.xdp_mode}`, { text: link, cls: p.up ? "up" : "down" },
      num(r.rate(k + "rx", c.rx_frames), `bridge.${b.name}.${p.name}.rx_rate`),
      { text: fmtBits(r.rate(k + "rxb", c.rx_bytes)), cls: "num" },
      num(r.rate(k + "fwd", c.forwarded)), num(r.rate(k + "flood", c.flooded)),
      num(c.rx_frames, `bridge.${b.name}.${p.name}.rx_frames`), num(c.dropped, `bridge.${b.name}.${p.name}.dropped`),
      num(c.learned)];
  })));
  $("#bridge-summary", section).replaceChildren(...j.bridges.map((b) => el("div", { class: "card" },
    el("span", { class: "label", text: `${b.name}: ${b.state}` }),
    el("span", { class: "big", dataset: { id: `bridge.${b.name}.fdb_entries`, value: b.fdb_entries },
                 text: `${fmt(b.fdb_entries)} stations` }),
    el("span", { class: "muted", text: ` ageing ${b.ageing_s} s, table ${fmt(b.fdb_size)}` }))));
  fillTable($("#bridge-fdb", section), fdb.entries.map((e) => [e.bridge, { text: e.mac, id: `fdb.${e.mac}.${e.vlan}`, value: e.port },
    e.vlan || "untagged", e.port, { text: e.age_s.toFixed(1) + " s" + (e.expired ? " (expired)" : ""), cls: e.expired ? "muted" : "" }]),
  "no stations learned");
  $("#bridge-fdb-truncated", section).hidden = !fdb.truncated;
}

export default {
  id: "bridge",
  title: "eBPF bridge",
  html: HTML,
  init() {},
  async update(shared, section) {
    const br = await get("/api/v1/bridge");
    const fdb = br.bridges.length ? await get(`/api/v1/bridge/fdb?limit=${FDB_LIMIT}`) : { entries: [] };
    bridges(section, shared, br, fdb);
    if (br.bridges.length) {
      const sm = await get("/api/v1/sockmap").catch(() => null);  // no sockmap plugin: no counts
      pods(section, br, sm);
    }
  },
};
