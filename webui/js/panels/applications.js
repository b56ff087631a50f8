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
  },
};
