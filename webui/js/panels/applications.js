// applications.js - the process running under `oryx run` (when this API
// is the one inside it): who it is and which sockets it holds on Oryx.
"use strict";

import { get } from "../api.js";
import { $, el, fillTable, fmt } from "../dom.js";

export default {
  id: "applications",
  init() {},
  async update(shared, section) {
    const j = await get("/api/v1/applications");
    $("#apps-note", section).hidden = j.embedded;
    $("#apps-note", section).textContent = j.note || "";
    $("#apps-body", section).hidden = !j.embedded;
    if (!j.embedded) return;
    const app = j.applications[0];
    const cards = [["process", `${app.name} (pid ${app.pid})`, "app.process"], ["threads", fmt(app.threads)],
      ["memory (RSS)", fmt(app.rss_kib * 1024, "B")], ["descriptors open", fmt(app.descriptors.open)],
      ["on Oryx", fmt(app.descriptors.managed_by_oryx), "app.oryx"], ["on the kernel", fmt(app.descriptors.kernel)]];
    $("#apps-cards", section).replaceChildren(...cards.map(([label, value, id]) =>
      el("div", { class: "card" }, el("span", { class: "label", text: label }),
         el("span", { class: "big", dataset: { id }, text: value }))));
    $("#apps-command", section).textContent = app.command;
    fillTable($("#apps-kinds", section), Object.entries(app.oryx_sockets_by_kind).map(([k, n]) =>
      [k, { text: fmt(n), cls: "num", id: "app.kind." + k, value: n }]), "no sockets on Oryx");
    fillTable($("#apps-sockets", section), app.oryx_sockets.map((s) =>
      [s.fd, s.kind, s.local || "–", s.remote || "–"]), "no sockets on Oryx");
    $("#apps-truncated", section).hidden = !app.oryx_sockets_truncated;
    // The threading model, and in the shared model what each thread did.
    const t = app.threading || { model: "unknown" };
    $("#apps-model", section).textContent = t.model;
    $("#apps-model-note", section).textContent = t.threads
      ? `threads spin ${fmt(t.spin_us)} µs before sleeping; the keeper takes over after ${fmt(t.grace_us)} µs ` +
        `without a poll; ${fmt(t.wake_fds)} wake descriptor(s)${t.timer_poll ? ", timer polling" : ""}`
      : "a worker thread polls the port";
    fillTable($("#apps-threads", section), (t.threads || []).map((x) =>
      [`${x.name} (${x.tid})`, x.role + (x.exited ? " (exited)" : ""),
       { text: fmt(x.polls), cls: "num", id: `app.thread.${x.tid}.polls`, value: x.polls },
       { text: fmt(x.packets), cls: "num", id: `app.thread.${x.tid}.packets`, value: x.packets },
       { text: x.packets_per_poll.toFixed(2), cls: "num" },
       { text: fmt(x.spins), cls: "num" }, { text: fmt(x.sleeps), cls: "num" },
       { text: fmt(x.wakeups), cls: "num" },
       { text: fmt(x.hold_us / 1000, "ms"), cls: "num" }, { text: fmt(x.spin_us / 1000, "ms"), cls: "num" }]),
      "no thread has used the stack yet");
  },
};
