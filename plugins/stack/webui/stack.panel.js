// stack.panel.js - the stack plugin's dashboard panel (served next to the
// plugin, loaded by the dashboard; see the plugin guide): connections by
// state and per lwIP instance (a per-worker stack has one per worker),
// retransmissions, drops by reason, mbufs held, and the live
// connection table, filtered, sorted and paged by the server (10,000 rows
// move one page at a time).
"use strict";

import { ApiError, get } from "/js/api.js";
import { $, el, fillTable, fmt, num } from "/js/dom.js";

const PAGE = 100;
const query = { q: "", state: "", proto: "", sort: "local", order: "asc", offset: 0 };

function stackStages(stats) {
  return Object.entries(stats.stages).filter(([, s]) => s.type === "stack");
}

function summary(section, shared, table) {
  const cards = [["connections", table.total, "stack.total"]];
  for (const [state, n] of Object.entries(table.by_state)) cards.push([state, n, "stack.state." + state]);
  for (const [proto, n] of Object.entries(table.by_proto)) cards.push([proto + " endpoints", n, "stack.proto." + proto]);
  $("#stack-cards", section).replaceChildren(...cards.map(([label, value, id]) =>
    el("div", { class: "card" }, el("span", { class: "label", text: label }),
       el("span", { class: "big", dataset: { id, value }, text: fmt(value) }))));
  const r = shared.rates;
  const rows = [], drops = [];
  for (const [name, s] of stackStages(shared.stats)) {
    const c = s.counters;
    for (const key of ["tcp_connections", "tcp_accepted", "tcp_opened", "tcp_retransmits", "tcp_reset",
                       "tcp_out_of_order", "tcp_accept_overflow", "mbufs_held", "sockets"])
      if (key in c) rows.push([name, key, num(c[key], `stack.${name}.${key}`), num(r.rate(`stage.${name}.${key}`, c[key]))]);
    for (const [key, v] of Object.entries(c))
      if (key.startsWith("drop_") || key.endsWith("_drops"))
        drops.push({ attrs: { class: v ? "" : "zero" },
                     cells: [name, key.replace(/^drop_/, "").replaceAll("_", " "), num(v, `stack.${name}.${key}`),
                             num(r.rate(`stage.${name}.${key}`, v))] });
  }
  fillTable($("#stack-counters", section), rows, "no stack stage");
  const instances = Object.entries(table.by_instance || {}).map(([name, n]) =>
    [name, num(n.tcp, `stack.instance.${name}.tcp`), num(n.established, `stack.instance.${name}.established`),
     num(n.udp, `stack.instance.${name}.udp`)]);
  fillTable($("#stack-instances", section), instances, "no endpoint");
  drops.sort((a, b) => Number(b.cells[2].value) - Number(a.cells[2].value));
  fillTable($("#stack-drops", section), drops, "no stack stage");
}

function connectionRows(table) {
  return table.connections.map((c) => [c.proto, c.local, c.remote, c.state || "–", num(c.send_queue), num(c.recv_queue),
    c.cwnd === undefined ? "–" : num(c.cwnd), c.rto_ms === undefined ? "–" : num(c.rto_ms),
    c.rto_backoff === undefined ? "–" : num(c.rto_backoff)]);
}

function queryString() {
  const p = new URLSearchParams({ sort: query.sort, order: query.order, offset: query.offset, limit: PAGE });
  for (const k of ["q", "state", "proto"]) if (query[k]) p.set(k, query[k]);
  return p.toString();
}

const HTML = `
<h2>TCP/IP stack</h2>
<p id="stack-none" class="muted" hidden>This appliance has no stack stage.</p>
<div id="stack-body">
  <div id="stack-cards" class="cards"></div>
  <div class="two">
    <div><h3>Connections and buffers</h3>
      <table id="stack-counters" class="compact"><thead><tr><th>stage</th><th>counter</th><th>value</th><th>per second</th></tr></thead><tbody></tbody></table></div>
    <div><h3>Drops by reason</h3>
      <table id="stack-drops" class="compact"><thead><tr><th>stage</th><th>reason</th><th>packets</th><th>per second</th></tr></thead><tbody></tbody></table></div>
  </div>
  <h3>lwIP instances</h3>
  <table id="stack-instances" class="compact"><thead><tr><th>instance</th><th>TCP endpoints</th><th>established</th><th>UDP endpoints</th></tr></thead><tbody></tbody></table>
  <h3>Connections</h3>
  <div class="toolbar">
    <input id="conn-filter" type="search" placeholder="filter by address or port" aria-label="filter connections">
    <select id="conn-state" aria-label="state"><option value="">any state</option><option>LISTEN</option><option>SYN_SENT</option><option>SYN_RCVD</option><option>ESTABLISHED</option><option>FIN_WAIT_1</option><option>FIN_WAIT_2</option><option>CLOSE_WAIT</option><option>CLOSING</option><option>LAST_ACK</option><option>TIME_WAIT</option></select>
    <select id="conn-proto" aria-label="protocol"><option value="">tcp and udp</option><option>tcp</option><option>udp</option></select>
    <button id="conn-prev" type="button">‹ previous</button>
    <span id="conn-page" class="muted"></span>
    <button id="conn-next" type="button">next ›</button>
  </div>
  <table id="connections"><thead><tr><th data-sort="proto">proto</th><th data-sort="local">local</th><th data-sort="remote">remote</th><th data-sort="state">state</th><th data-sort="send_queue">send-q</th><th data-sort="recv_queue">recv-q</th><th>cwnd</th><th>RTO ms</th><th>backoff</th></tr></thead><tbody></tbody></table>
</div>
`;

export default {
  title: "Stack",
  html: HTML,
  id: "stack",
  init(section, shared) {
    // Errors show in the panel's banner on the next poll.
    const load = () => this.update(shared, section).catch(() => {});
    const refresh = () => { query.offset = 0; load(); };
    $("#conn-filter", section).addEventListener("input", (e) => { query.q = e.target.value.trim(); refresh(); });
    $("#conn-state", section).addEventListener("change", (e) => { query.state = e.target.value; refresh(); });
    $("#conn-proto", section).addEventListener("change", (e) => { query.proto = e.target.value; refresh(); });
    $("#conn-prev", section).addEventListener("click", () => { query.offset = Math.max(0, query.offset - PAGE); load(); });
    $("#conn-next", section).addEventListener("click", () => { query.offset += PAGE; load(); });
    for (const th of section.querySelectorAll("#connections th[data-sort]")) {
      th.classList.add("clickable");
      th.addEventListener("click", () => {
        const column = th.dataset.sort;
        query.order = query.sort === column && query.order === "asc" ? "desc" : "asc";
        query.sort = column;
        refresh();
      });
    }
  },
  async update(shared, section) {
    if (!shared.stats || !shared.status) return;
    if (!stackStages(shared.stats).length) {
      $("#stack-body", section).hidden = true;
      $("#stack-none", section).hidden = false;
      return;
    }
    $("#stack-body", section).hidden = false;
    $("#stack-none", section).hidden = true;
    let table;
    try {
      table = await get("/api/v1/connections?" + queryString());
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) throw new Error("the stack does not serve /api/v1/connections");
      throw e;
    }
    if (query.offset >= table.matched && query.offset > 0) {
      query.offset = Math.max(0, Math.floor((table.matched - 1) / PAGE) * PAGE);
      table = await get("/api/v1/connections?" + queryString());
    }
    summary(section, shared, table);
    fillTable($("#connections", section), connectionRows(table), "no connection matches");
    for (const th of section.querySelectorAll("#connections th[data-sort]"))
      th.dataset.order = th.dataset.sort === query.sort ? query.order : "";
    const first = table.matched ? query.offset + 1 : 0;
    const last = Math.min(table.matched, query.offset + PAGE);
    const pageText = $("#conn-page", section);
    pageText.textContent = `${first}–${last} of ${table.matched} matching (${table.total} in all)`;
    pageText.dataset.matched = table.matched;
    pageText.dataset.total = table.total;
    $("#conn-prev", section).disabled = query.offset === 0;
    $("#conn-next", section).disabled = last >= table.matched;
  },
};
