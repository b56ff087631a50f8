// Oryx dashboard: polls the public REST API (/api/v1/*) once a second and
// redraws. No framework and no external assets, so it works offline.
"use strict";

const POLL_MS = 1000;
const HISTORY = 300; // samples kept for the chart (5 minutes)
const history = [];
let previous = null; // last stats snapshot, for rates

const $ = (id) => document.getElementById(id);

function fmt(n) {
  if (n === undefined || n === null) return "–";
  if (n >= 1e9) return (n / 1e9).toFixed(2) + " G";
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + " k";
  return String(Math.round(n));
}

function fmtDuration(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return (d ? d + "d " : "") + (h ? h + "h " : "") + m + "m " + (s % 60) + "s";
}

async function get(path) {
  const r = await fetch(path, { cache: "no-store" });
  let body;
  try { body = await r.json(); } catch { throw new Error(path + ": HTTP " + r.status + " (not JSON)"); }
  if (!r.ok) throw new Error(path + ": " + (body.error || "HTTP " + r.status));
  return body;
}

function fill(tableId, rows) {
  const tbody = $(tableId).querySelector("tbody");
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      if (typeof c === "object" && c !== null) {
        td.textContent = c.text;
        if (c.cls) td.className = c.cls;
        if (c.id) td.dataset.id = c.id;
      } else {
        td.textContent = c;
        if (typeof c === "number") td.className = "num";
      }
      tr.appendChild(td);
    }
    return tr;
  }));
}

function rate(now, before, seconds) {
  if (before === undefined || seconds <= 0) return undefined;
  return Math.max(0, (now - before) / seconds);
}

function drawChart() {
  const canvas = $("chart");
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const max = Math.max(1, ...history.map((p) => Math.max(p.rx, p.tx)));
  const series = [["rx", "#58a6ff"], ["tx", "#3fb950"], ["drops", "#f85149"]];
  for (const [key, colour] of series) {
    ctx.strokeStyle = colour;
    ctx.beginPath();
    history.forEach((p, i) => {
      const x = (i / (HISTORY - 1)) * w;
      const y = h - 4 - (p[key] / max) * (h - 20);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
  ctx.fillStyle = "#8b98a5";
  ctx.fillText("max " + fmt(max) + " pkt/s", 6, 12);
}

async function refresh() {
  try {
    const [status, stats, ports, plugins] = await Promise.all([
      get("/api/v1/status"), get("/api/v1/stats"), get("/api/v1/ports"), get("/api/v1/plugins"),
    ]);
    $("error").hidden = true;
    const t = performance.now() / 1000;
    const secs = previous ? t - previous.t : 0;

    $("state").textContent = status.state;
    $("state").className = "badge " + status.state;
    $("version").textContent = "v" + status.version + " · ABI " + status.abi;
    $("uptime").textContent = "up " + fmtDuration(status.uptime_seconds);
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    $("mbufs").textContent = status.mbufs ? fmt(status.mbufs.in_use) : "–";

    fill("workers", status.workers.map((w) => {
      const total = w.busy_cycles + w.idle_cycles;
      return [w.index, w.lcore, w.running ? { text: "yes", cls: "up" } : { text: "no", cls: "down" },
        total ? (100 * w.busy_cycles / total).toFixed(1) + " %" : "–", fmt(w.walks), fmt(w.sleeps)];
    }));

    let rx = 0, tx = 0;
    fill("ports", ports.map((p) => {
      const st = p.stats || {};
      const before = previous && previous.ports[p.name];
      const rxr = rate(st.rx_packets, before && before.rx_packets, secs);
      const txr = rate(st.tx_packets, before && before.tx_packets, secs);
      rx += rxr || 0;
      tx += txr || 0;
      const up = p.link && p.link.up;
      return [p.name, p.driver, { text: up ? "up" : "down", cls: up ? "up" : "down" }, p.mtu,
        p.rx_queues + "/" + p.tx_queues, { text: fmt(st.rx_packets), id: "rx-" + p.name, cls: "num" },
        fmt(st.tx_packets), fmt(rxr), fmt(txr), fmt(st.rx_missed), fmt((st.rx_errors || 0) + (st.tx_errors || 0))];
    }));

    const drops = stats.drops_total;
    const dropRate = rate(drops, previous && previous.drops, secs) || 0;
    $("rate-rx").textContent = fmt(rx);
    $("rate-tx").textContent = fmt(tx);
    $("rate-drops").textContent = fmt(dropRate);

    const rows = [];
    for (const [name, s] of Object.entries(stats.stages)) {
      for (const [counter, value] of Object.entries(s.counters)) {
        if (typeof value !== "number") continue;
        const before = previous && previous.stages[name] && previous.stages[name][counter];
        rows.push([name, s.type, counter, { text: fmt(value), cls: "num", id: name + "." + counter },
          fmt(rate(value, before, secs))]);
      }
    }
    fill("stages", rows);

    fill("plugins", plugins.map((p) => [p.name, p.version, p.abi,
      { text: p.state, cls: p.state === "initialized" ? "up" : "down" }, p.stages.join(", "), p.description]));
    $("log").textContent = status.recent_log.join("") || "none";

    const stageValues = {};
    for (const [name, s] of Object.entries(stats.stages)) stageValues[name] = s.counters;
    const portValues = {};
    for (const p of ports) portValues[p.name] = p.stats || {};
    if (previous) {
      history.push({ rx, tx, drops: dropRate });
      while (history.length > HISTORY) history.shift();
    } else {
      while (history.length < HISTORY) history.push({ rx: 0, tx: 0, drops: 0 });
    }
    previous = { t, ports: portValues, stages: stageValues, drops };
    drawChart();
  } catch (e) {
    $("error").textContent = "Cannot read the appliance: " + e.message;
    $("error").hidden = false;
    $("state").textContent = "unreachable";
    $("state").className = "badge failed";
  }
}

refresh();
setInterval(refresh, POLL_MS);
