// fastpaths.js - the kernel fast paths: sockmap services with their
// redirect rates and socket pairs; eBPF bridges with per-port rates and
// the forwarding table.
"use strict";

import { ApiError, get } from "../api.js";
import { $, el, fillTable, fmt, fmtBits, num } from "../dom.js";

const FDB_LIMIT = 1000;

// A plugin's endpoint, or null when the plugin is not loaded (404).
async function optional(path) {
  try {
    return await get(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

function sockmap(section, shared, j) {
  $("#sockmap-none", section).hidden = !!(j && j.services.length);
  $("#sockmap-body", section).hidden = !(j && j.services.length);
  if (!j) return;
  const r = shared.rates;
  fillTable($("#sockmap-services", section), j.services.map((s) => {
    const c = (shared.stats.stages[s.name] || { counters: {} }).counters;
    const k = `stage.${s.name}.`;
    return [s.name, { text: s.state, cls: s.state === "running" ? "up" : "down" }, (s.cgroups || []).join(", "),
      num(s.sockets, `sockmap.${s.name}.sockets`), num((s.pairs || []).length, `sockmap.${s.name}.pairs`),
      num(r.rate(k + "msgs_redirected", c.msgs_redirected)),
      { text: fmtBits(r.rate(k + "bytes_redirected", c.bytes_redirected)), cls: "num" },
      num(c.bytes_redirected, `sockmap.${s.name}.bytes_redirected`),
      num(r.rate(k + "msgs_passed", c.msgs_passed)), num(c.backlog_fallbacks)];
  }), "no sockmap service");
  const pairs = j.services.flatMap((s) => [
    ...(s.pairs || []).map((p) => [s.name, p.family, p.a, p.b, { text: "redirected", cls: "up" }]),
    ...(s.unpaired || []).map((u) => [s.name, u.family, u.local, u.remote, { text: "peer not tracked", cls: "muted" }])]);
  fillTable($("#sockmap-pairs", section), pairs, "no tracked sockets");
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
  id: "fastpaths",
  init() {},
  async update(shared, section) {
    const [sm, br] = await Promise.all([optional("/api/v1/sockmap"), optional("/api/v1/bridge")]);
    sockmap(section, shared, sm);
    const fdb = br && br.bridges.length ? await get(`/api/v1/bridge/fdb?limit=${FDB_LIMIT}`) : { entries: [] };
    bridges(section, shared, br, fdb);
  },
};
