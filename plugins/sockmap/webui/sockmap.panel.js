// sockmap.panel.js - the sockmap plugin's dashboard panel (served next to
// the plugin, loaded by the dashboard; see the plugin guide): its services
// with their redirect rates, and the socket pairs they track.
"use strict";

import { get } from "/js/api.js";
import { $, fillTable, fmtBits, num } from "/js/dom.js";

const HTML = `
<h2>sockmap redirect</h2>
<p id="sockmap-none" class="muted" hidden>No sockmap service is configured (or the sockmap plugin is not loaded).</p>
<div id="sockmap-body" hidden>
  <table id="sockmap-services"><thead><tr><th>service</th><th>state</th><th>cgroups</th><th>sockets</th><th>pairs</th><th>redirected sends/s</th><th>redirected</th><th>bytes redirected</th><th>passed sends/s</th><th>backlog fallbacks</th></tr></thead><tbody></tbody></table>
  <h3>Socket pairs</h3>
  <table id="sockmap-pairs" class="compact"><thead><tr><th>service</th><th>family</th><th>endpoint A</th><th>endpoint B</th><th></th></tr></thead><tbody></tbody></table>
</div>
`;

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

export default {
  id: "sockmap",
  title: "sockmap",
  html: HTML,
  init() {},
  async update(shared, section) {
    sockmap(section, shared, await get("/api/v1/sockmap"));
  },
};
