// main.js - the dashboard's frame: tabs, the once-a-second poll of the
// core endpoints shared by every panel, the header and the token dialog.
// Panels fetch what only they show, and only while they are visible.
"use strict";

import { get, onAuthNeeded, setToken, token } from "./api.js";
import { $, Rates, el, fmtDuration, panelError } from "./dom.js";
import overview from "./panels/overview.js";
import ports from "./panels/ports.js";
import graph from "./panels/graph.js";
import applications from "./panels/applications.js";
import config from "./panels/config.js";

const POLL_MS = 1000;
// Built-in panels; plugins' panels join before the last (config).
const panels = [overview, ports, graph, applications, config];
const shared = { rates: new Rates() };
let active = overview;
let polling = false;
let pluginPanelsLoaded = false;
let pluginPanelsLoading = null;  // the load in progress, if any
let pluginPanelProblem = "";  // shown under the header until reload

// A plugin's panel: an ES module the plugin ships as <plugin>.panel.js,
// listed in /api/v1/plugins as "panel" (oryxd serves it), whose default
// export is { id, title, html, init(section, shared), update(shared, section) }.
function addPanel(mod) {
  const section = el("section", { id: "panel-" + mod.id, class: "panel", hidden: true });
  section.innerHTML = mod.html;
  $("#panel-config").before(section);
  $('nav a[href="#config"]').before(el("a", { href: "#" + mod.id, text: mod.title }));
  panels.splice(panels.length - 1, 0, mod);
  mod.init(section, shared);
}

// Once: a failure (no token yet, say) is retried on the next poll. A panel
// that does not load is reported and left out; the others stay.
async function loadPluginPanels() {
  if (pluginPanelsLoaded) return;
  const plugins = await get("/api/v1/plugins");
  pluginPanelsLoaded = true;
  for (const p of plugins) {
    if (!p.panel) continue;
    try {
      addPanel((await import(p.panel)).default);
    } catch (e) {
      pluginPanelProblem = `The ${p.name} plugin's panel (${p.panel}) did not load: ${e.message}`;
    }
  }
  show(location.hash.slice(1) || active.id);
}

function show(id) {
  active = panels.find((p) => p.id === id) || overview;
  for (const p of panels) {
    $("#panel-" + p.id).hidden = p !== active;
    $(`nav a[href="#${p.id}"]`).classList.toggle("active", p === active);
  }
  if (shared.status) refreshActive();
}

async function refreshActive() {
  const section = $("#panel-" + active.id);
  try {
    await active.update(shared, section);
    panelError(section, null);
  } catch (e) {
    panelError(section, e);
  }
}

function header(status) {
  const state = $("#state");
  state.textContent = status.state;
  state.className = "badge " + status.state;
  $("#version").textContent = `v${status.version} · ABI ${status.abi} · pid ${status.pid}`;
  $("#uptime").textContent = "up " + fmtDuration(status.uptime_seconds);
  $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
}

async function poll() {
  if (polling || document.hidden) return;
  polling = true;
  try {
    const [status, stats, portList] = await Promise.all([
      get("/api/v1/status"), get("/api/v1/stats"), get("/api/v1/ports")]);
    shared.status = status;
    shared.stats = stats;
    shared.ports = portList;
    shared.rates.tick(performance.now() / 1000);
    $("#error").textContent = pluginPanelProblem;
    $("#error").hidden = !pluginPanelProblem;
    header(status);
    // Plugins' panels load beside the polls, never holding one up.
    if (!pluginPanelsLoaded && !pluginPanelsLoading)
      pluginPanelsLoading = loadPluginPanels().catch(() => {}).finally(() => { pluginPanelsLoading = null; });
    // The overview keeps its charts' history even while hidden.
    if (active !== overview) overview.record(shared);
    await refreshActive();
  } catch (e) {
    $("#error").textContent = "Cannot read the appliance: " + e.message;
    $("#error").hidden = false;
    $("#state").textContent = "unreachable";
    $("#state").className = "badge failed";
  } finally {
    polling = false;
  }
}

function tokenDialog(reason) {
  const dialog = $("#token-dialog");
  $("#token-reason").textContent = reason || "";
  // Polls keep being refused while the dialog is open: they must not wipe
  // what the operator is typing.
  if (dialog.open) return;
  $("#token-input").value = token();
  dialog.showModal();
}

function init() {
  for (const p of panels) p.init($("#panel-" + p.id), shared);
  $("#token-button").addEventListener("click", () => tokenDialog(""));
  $("#token-form").addEventListener("submit", () => {
    setToken($("#token-input").value.trim());
    $("#token-state").textContent = token() ? "token set" : "";
    poll();
  });
  $("#token-clear").addEventListener("click", () => { setToken(""); $("#token-state").textContent = ""; });
  $("#token-state").textContent = token() ? "token set" : "";
  onAuthNeeded((message) => tokenDialog(message));
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  document.addEventListener("visibilitychange", poll);
  show(location.hash.slice(1) || "overview");
  poll();
  setInterval(poll, POLL_MS);
}

init();
