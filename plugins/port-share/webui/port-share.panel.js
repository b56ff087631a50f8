// port-share.panel.js - the port-share plugin's dashboard panel (served
// next to the plugin, loaded by the dashboard; see the plugin guide): per
// shared port, the processes attached to it (PID, ports, link, rates) and
// the ones that went away and were reclaimed.
"use strict";

import { get } from "/js/api.js";
import { $, el, fillTable, fmt, fmtDuration, num } from "/js/dom.js";

const HTML = `
<h2>Shared ports</h2>
<p id="share-none" class="muted" hidden>No port is shared (no port_share service, or the port-share plugin is not loaded).</p>
<div id="share-body" hidden>
  <div id="share-summary" class="cards"></div>
  <h3>Attached processes</h3>
  <p class="muted">Each process under <code>oryx run</code> that attached (its PID as the kernel reported it), the ports it claimed, the link it got, and the frames steered to it and sent by it.</p>
  <table id="share-apps"><thead><tr><th>share</th><th>process</th><th>PID</th><th>user</th><th>group</th><th>ports</th><th>link</th><th>attached for</th><th>to it/s</th><th>from it/s</th><th>to it</th><th>from it</th></tr></thead><tbody></tbody></table>
  <h3>Reclaimed</h3>
  <p class="muted">Processes that exited or were killed, and what oryxd took back (the last 16 per share).</p>
  <table id="share-reclaimed" class="compact"><thead><tr><th>share</th><th>process</th><th>PID</th><th>link</th><th>port rules</th><th>flows</th><th>took</th><th>ago</th></tr></thead><tbody></tbody></table>
</div>
`;

function render(section, shared, j) {
  const any = !!(j && j.shares.length);
  $("#share-none", section).hidden = any;
  $("#share-body", section).hidden = !any;
  if (!any) return;
  const r = shared.rates;
  $("#share-summary", section).replaceChildren(...j.shares.map((s) => el("div", { class: "card" },
    el("span", { class: "label", text: `${s.service}: ${s.state} on ${s.uplink}` }),
    el("span", { class: "big", dataset: { id: `share.${s.service}.attached`, value: s.applications.length },
                 text: `${fmt(s.applications.length)} attached` }),
    el("span", { class: "muted", text: ` ${s.mac}, socket ${s.socket}` }))));
  fillTable($("#share-apps", section), j.shares.flatMap((s) => s.applications.map((a) => {
    const k = `share.${s.service}.${a.pid}`;
    return [s.service, { text: a.name + (a.default ? " (default)" : ""), id: `${k}.name`, value: a.name },
      { text: String(a.pid), id: `${k}.pid`, value: a.pid, cls: "num" }, a.uid === 0 ? "root" : String(a.uid), a.group || "–",
      { text: a.rules.join(", ") || "–", id: `${k}.rules`, value: a.rules.join(",") },
      { text: a.interface, id: `${k}.interface`, value: a.interface }, fmtDuration(a.attached_s),
      num(r.rate(`${k}.to`, a.frames_to_app)), num(r.rate(`${k}.from`, a.frames_from_app)),
      num(a.frames_to_app, `${k}.frames_to_app`), num(a.frames_from_app, `${k}.frames_from_app`)];
  })), "no process attached");
  fillTable($("#share-reclaimed", section), j.shares.flatMap((s) => s.reclaimed.map((c) => {
    const k = `share.${s.service}.reclaimed.${c.pid}`;
    return [s.service, { text: c.name, id: `${k}.name`, value: c.name }, { text: String(c.pid), cls: "num" },
      c.interface, num(c.port_rules), num(c.flows, `${k}.flows`),
      { text: `${c.took_ms.toFixed(1)} ms`, id: `${k}.took_ms`, value: c.took_ms }, fmtDuration(c.ago_s) + " ago"];
  })), "none yet");
}

export default {
  id: "share",
  title: "Shared ports",
  html: HTML,
  init() {},
  async update(shared, section) {
    // No port_share service started: the route is not there.
    const j = await get("/api/v1/share").catch(() => ({ shares: [] }));
    render(section, shared, j);
  },
};
