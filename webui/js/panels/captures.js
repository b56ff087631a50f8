// captures.js - packet captures (the pdump plugin): start one at chosen
// points with a tcpdump filter, watch it count, stop it, download the
// pcapng. Starting, stopping and deleting need the token.
"use strict";

import { ApiError, del, download, get, post } from "../api.js";
import { $, el, fillTable, fmt, num } from "../dom.js";

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

const module = {
  id: "captures",
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
    let list;
    try {
      list = await get("/api/v1/captures");
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        $("#capture-body", section).hidden = true;
        $("#capture-none", section).hidden = false;
        return;
      }
      throw e;
    }
    $("#capture-body", section).hidden = false;
    $("#capture-none", section).hidden = true;
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
        !running && c.files.length ? el("button", { text: "Download", "data-action": "download", onclick: () =>
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
