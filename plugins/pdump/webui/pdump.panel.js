// pdump.panel.js - the pdump plugin's dashboard panel (see the plugin
// guide: oryxd serves it next to the plugin, the dashboard loads it):
// start a capture at chosen points with a tcpdump filter, watch it count,
// stop it, download the pcapng. Starting, stopping and deleting need the
// token.
"use strict";

import { del, download, get, post } from "/js/api.js";
import { $, el, fillTable, fmt, num } from "/js/dom.js";

let pointsLoaded = false;

function message(section, text, bad) {
  const m = $("#capture-message", section);
  m.textContent = text;
  m.className = bad ? "message down" : "message up";
  m.hidden = !text;
}

// Runs an action; its error shows in the panel's message line.
async function act(section, what, fn, shared) {
  try {
    const text = await fn();
    message(section, text || "", false);
  } catch (e) {
    message(section, `${what} failed: ${e.message}`, true);
  }
  await module.update(shared, section).catch(() => {});
}

function startBody(section) {
  const points = [...section.querySelectorAll("#capture-points input:checked")].map((i) => i.value);
  const body = { points };
  const filter = $("#capture-filter", section).value.trim();
  if (filter) body.filter = filter;
  const name = $("#capture-name", section).value.trim();
  if (name) body.name = name;
  const count = Number($("#capture-count", section).value);
  if (count > 0) body.max_packets = count;
  const seconds = Number($("#capture-duration", section).value);
  if (seconds > 0) body.duration_s = seconds;
  return body;
}

const HTML = `
<h2>Packet captures</h2>
<div id="capture-body">
  <form id="capture-form" class="capture-form">
    <fieldset><legend>Capture points</legend><div id="capture-points"></div></fieldset>
    <label>Filter (tcpdump syntax) <input id="capture-filter" type="text" placeholder="e.g. tcp port 80"></label>
    <label>Name <input id="capture-name" type="text" placeholder="optional" pattern="[a-z0-9_-]{0,32}"></label>
    <label>Stop after packets <input id="capture-count" type="number" min="0" value="0"></label>
    <label>Stop after seconds <input id="capture-duration" type="number" min="0" max="86400" value="0"></label>
    <button id="capture-start" type="submit">Start capture</button>
  </form>
  <p id="capture-message" class="message" role="status" hidden></p>
  <table id="captures"><thead><tr><th>id</th><th>name</th><th>state</th><th>points</th><th>filter</th><th>seen</th><th>written</th><th>bytes</th><th>dropped</th><th>files</th><th></th></tr></thead><tbody></tbody></table>
</div>
`;

const module = {
  id: "captures",
  title: "Captures",
  html: HTML,
  init(section, shared) {
    $("#capture-form", section).addEventListener("submit", (ev) => {
      ev.preventDefault();
      act(section, "Starting the capture", async () => {
        const c = await post("/api/v1/captures", startBody(section));
        return `capture ${c.id} started at ${c.points.join(", ")}`;
      }, shared);
    });
  },
  async update(shared, section) {
    const list = await get("/api/v1/captures");
    if (!pointsLoaded) {
      const { points } = await get("/api/v1/captures/points");
      $("#capture-points", section).replaceChildren(...points.map((p) => el("label", { class: "chip", title: p.help },
        el("input", { type: "checkbox", value: p.point, name: "point" }), " " + p.point)));
      pointsLoaded = true;
    }
    fillTable($("#captures", section), list.captures.map((c) => {
      const n = c.counters;
      const running = c.state === "running";
      const actions = el("span", { class: "actions" },
        running ? el("button", { text: "Stop", "data-action": "stop", onclick: () => act(section, "Stopping", async () => {
          await post(`/api/v1/captures/${c.id}/stop`);
          return `capture ${c.id} stopped`;
        }, shared) }) : null,
        !running && c.files.length ? el("button", { text: "Download", "data-action": "download", "data-file": c.files[0].name, onclick: () =>
          act(section, "Downloading", async () => {
            await download(`/api/v1/captures/${c.id}/file`, c.files[0].name);
            return `downloading ${c.files[0].name}`;
          }, shared) }) : null,
        el("button", { text: "Delete", class: "danger", "data-action": "delete", onclick: () => act(section, "Deleting", async () => {
          await del(`/api/v1/captures/${c.id}`);
          return `capture ${c.id} deleted`;
        }, shared) }));
      return { attrs: { dataset: { capture: c.id, state: c.state } }, cells: [
        c.id, c.name || "–", { text: c.state, cls: running ? "up" : c.state === "failed" ? "down" : "" },
        c.points.join(", "), c.filter || "–", num(n.seen), num(n.written_packets, `capture.${c.id}.written`),
        { text: fmt(n.written_bytes, "B"), cls: "num" }, num(n.dropped_ring_full + n.dropped_no_mbuf),
        c.files.map((f) => `${f.name} (${fmt(f.bytes, "B")})`).join(", ") || "–", actions] };
    }), "no captures yet");
  },
};

export default module;
