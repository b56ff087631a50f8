// config.js - the effective configuration (secrets redacted by the API)
// and the loaded plugins with their version, ABI and state.
"use strict";

import { get } from "../api.js";
import { $, fillTable } from "../dom.js";

let loaded = false;

export default {
  id: "config",
  init() {},
  async update(shared, section) {
    if (loaded) return; // neither changes while the appliance runs
    const [config, plugins] = await Promise.all([get("/api/v1/config"), get("/api/v1/plugins")]);
    fillTable($("#plugins", section), plugins.map((p) => [
      { text: p.name, id: `plugin.${p.name}`, value: p.version }, p.version, p.abi,
      { text: p.state, cls: p.state === "initialized" ? "up" : "down" }, p.stages.join(", "),
      (p.depends_on || []).join(", ") || "–", p.description, p.path]), "no plugins");
    $("#config-file", section).textContent = config.file || "";
    $("#config-json", section).textContent = JSON.stringify(config, null, 2);
    loaded = true;
  },
};
