// dashboard.mjs - drives the Oryx dashboard in headless Debian chromium
// (playwright-core) against a running oryxd and compares what every panel
// shows with `oryxctl --json` read at the same moment. Set up and run by
// tests/e2e/webui.sh; the environment names the appliance:
//   UI_URL, UI_TOKEN, UI_CACERT  the API (https, token required)
//   UI_SPKI                      base64 SHA-256 of the certificate's public key
//   UI_ORYXCTL                   the oryxctl binary
//   UI_WORK                      where screenshots and the capture go
//   UI_CONNECTIONS               connections the stack holds
//   UI_BRIDGE_PORTS              the bridge's ports, space-separated
import { execFileSync } from "node:child_process";
import { launchChromium } from "./browser.mjs";

const env = process.env;
const url = env.UI_URL, work = env.UI_WORK;
const connections = Number(env.UI_CONNECTIONS);
let failed = false;
const check = (ok, what) => {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) failed = true;
};
const ctl = (...args) => JSON.parse(execFileSync(env.UI_ORYXCTL,
  ["-u", url, "-t", env.UI_TOKEN, "--cacert", env.UI_CACERT, "--json", ...args], { encoding: "utf8", maxBuffer: 256 << 20 }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const browser = await launchChromium([
  "--disable-quic",
  // Trust the test's self-signed certificate (by its key's hash), as an
  // operator would after importing it.
  `--ignore-certificate-errors-spki-list=${env.UI_SPKI}`]);
// What the page did, printed if a step fails: its console and each request
// with its answer and time, so that a timeout says what it waited on.
const trace = [];
const started = Date.now();
const note = (line) => { trace.push(`${((Date.now() - started) / 1000).toFixed(2)}s ${line}`); };
let page;
try {
  const context = await browser.newContext({ acceptDownloads: true,
                                             viewport: { width: 1500, height: 950 } });
  page = await context.newPage();
  const scriptErrors = [];
  page.on("pageerror", (e) => scriptErrors.push(e.message));
  page.on("console", (m) => note(`console.${m.type()}: ${m.text()}`));
  page.on("request", (r) => note(`-> ${r.method()} ${r.url()}`));
  page.on("requestfinished", async (r) => note(`<- ${(await r.response())?.status()} ${r.url()}`));
  page.on("requestfailed", (r) => note(`<- failed ${r.url()}: ${r.failure()?.errorText}`));
  const value = (id) => page.getAttribute(`[data-id="${id}"]`, "data-value");
  const text = (sel) => page.textContent(sel);
  const tab = async (id) => {
    await page.click(`nav a[href="#${id}"]`);
    await page.waitForSelector(`#panel-${id}:not([hidden])`);
  };
  const settle = () => page.waitForTimeout(2300); // two polls
  const shot = (name) => page.screenshot({ path: `${work}/screens/dashboard-${name}.png`, fullPage: true });

  // ---- access: without the token the page says so, then works with it
  await page.goto(url + "/", { waitUntil: "load" });
  await page.waitForSelector("#token-dialog[open]", { timeout: 10000 });
  const reason = await text("#token-reason");
  check(/bearer token/.test(reason), `token dialog opened by the API's refusal: "${reason}"`);
  check(await page.isVisible("#error"), "the refusal shows in the error banner, not a blank page");
  await page.fill("#token-input", env.UI_TOKEN);
  await settle(); // two more polls are refused while the operator types
  check((await page.inputValue("#token-input")) === env.UI_TOKEN, "refused polls leave the typed token alone");
  await page.click("#token-form button[type=submit]");
  await page.waitForFunction(() => document.getElementById("state").textContent === "running", null, { timeout: 10000 });
  check(true, "with the token the header shows running");

  // ---- overview
  await settle();
  const status = ctl("status");
  const plugins = ctl("plugins");
  check((await text('[data-id="overview.state"]')) === status.state, `overview state ${status.state}`);
  const counts = await text('[data-id="overview.stages · ports · plugins"]');
  check(counts === `${status.stages} · ${status.ports} · ${status.plugins}`, `overview counts ${counts}`);
  const workerRows = await page.$$eval("#workers tbody tr", (r) => r.length);
  check(workerRows === status.workers.length, `${workerRows} worker rows, oryxctl ${status.workers.length}`);
  const walks1 = Number(await value("worker.0.walks"));
  await page.waitForFunction((w) => Number(document.querySelector('[data-id="worker.0.walks"]').dataset.value) > w,
                             walks1, { timeout: 5000 });
  // The page's count first, oryxctl's after it: a poll between the two
  // may only make oryxctl's larger.
  const walks2 = Number(await value("worker.0.walks"));
  const statusAfter = ctl("status");
  check(walks2 > walks1 && walks2 <= statusAfter.workers[0].walks, `worker walks increase live: ${walks1} -> ${walks2}`);
  const rxText = await text('[data-id="overview.rx packets/s"]');
  check(rxText !== "0" && rxText !== "–", `overview rx packets/s ${rxText} (pings flowing)`);
  const chartInk = await page.$eval("#chart-packets", (c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 200 && d[i] < 150) n++; // rx line colour
    return n;
  });
  check(chartInk > 50, `packets chart draws the rx series (${chartInk} pixels)`);
  await shot("overview");

  // ---- ports
  await tab("ports");
  await settle();
  const before = ctl("ports");
  const shown = Number(await value("port.wire.rx_packets"));
  const after = ctl("ports");
  const portNames = await page.$$eval('#ports-table [data-id$=".name"]', (c) => c.map((x) => x.dataset.value));
  check(JSON.stringify(portNames) === JSON.stringify(before.map((p) => p.name)), `ports listed: ${portNames}`);
  const b = before.find((p) => p.name === "wire"), a = after.find((p) => p.name === "wire");
  check(shown >= b.stats.rx_packets - 50 && shown <= a.stats.rx_packets, // one poll may precede `before`
        `wire rx_packets ${shown} within oryxctl's ${b.stats.rx_packets}..${a.stats.rx_packets}`);
  check((await value("port.wire.link")) === (a.link.up ? "up" : "down"), "wire link state matches");
  check(Number(await value("port.wire.mtu")) === a.mtu, `wire MTU ${a.mtu}`);
  const xstats = await page.$$eval("#port-xstats tbody tr", (r) => r.length);
  check(xstats === Object.keys(a.xstats || {}).length, `extended statistics of the selected port: ${xstats} rows`);
  await shot("ports");

  // ---- graph
  await tab("graph");
  await page.waitForSelector("#graph-diagram svg g[data-stage]");
  const graph = ctl("graph");
  const stages = [...new Set(graph.nodes.filter((n) => n.stage).map((n) => n.stage))].sort();
  const drawn = (await page.$$eval("g[data-stage]", (g) => g.map((x) => x.dataset.stage))).sort();
  check(JSON.stringify(drawn) === JSON.stringify(stages), `stages drawn: ${drawn}`);
  const edges = await page.$$eval("path[data-edge]", (p) => p.map((x) => x.dataset.edge));
  check(edges.includes("wire->ip") && edges.includes("ip->wire"), `edges drawn: ${edges}`);
  const services = await page.$$eval("#graph-services .chip", (c) => c.map((x) => x.textContent));
  check(services.some((s) => s.startsWith("mesh")) && services.some((s) => s.startsWith("br")), `services: ${services}`);
  await page.click('g[data-stage="ip"]');
  await page.waitForSelector("#graph-details:not([hidden])");
  const cfgRows = await page.$$eval("#graph-config tbody tr", (r) => r.map((x) => [x.cells[0].textContent, x.cells[1].textContent]));
  const config = ctl("config");
  const address = cfgRows.find((r) => r[0] === "address");
  check(address && address[1] === config.stage.ip.address, `clicked stage ip shows its config: address ${address && address[1]}`);
  await settle();
  const accepted = Number(await value("stage.ip.tcp_accepted"));
  const acceptedCtl = ctl("stats").stages.ip.counters.tcp_accepted;
  check(accepted > 0 && accepted <= acceptedCtl, `stage ip counters: tcp_accepted ${accepted} (oryxctl ${acceptedCtl})`);
  await shot("graph");

  // ---- stack: 10,000 connections, paged by the server
  await tab("stack");
  await page.waitForFunction((n) => Number(document.getElementById("conn-page").dataset.total) >= n, connections,
                             { timeout: 10000 });
  const table = ctl("connections", "--limit", "1");
  const total = Number(await page.getAttribute("#conn-page", "data-total"));
  check(total === table.total, `connection count ${total} = oryxctl ${table.total}`);
  check(Number(await value("stack.state.ESTABLISHED")) === table.by_state.ESTABLISHED,
        `ESTABLISHED ${await value("stack.state.ESTABLISHED")} = oryxctl ${table.by_state.ESTABLISHED}`);
  for (const [name, n] of Object.entries(table.by_instance)) {
    const shown = Number(await value(`stack.instance.${name}.established`));
    check(shown === n.established, `instance ${name}: ${shown} established = oryxctl ${n.established}`);
  }
  const rows = await page.$$eval("#connections tbody tr", (r) => r.length);
  check(rows === 100, `one page of ${rows} rows`);
  await page.click("#conn-next");
  await page.waitForFunction(() => document.getElementById("conn-page").textContent.startsWith("101–200"));
  check(true, "next page: rows 101–200");
  await page.selectOption("#conn-state", "LISTEN");
  await page.waitForFunction((n) => Number(document.getElementById("conn-page").dataset.matched) === n,
                             table.by_state.LISTEN, { timeout: 5000 });
  check(true, `state filter LISTEN: ${table.by_state.LISTEN} rows`);
  await page.selectOption("#conn-state", "");
  await page.fill("#conn-filter", "198.18.64.1:");
  await page.click('#connections th[data-sort="remote"]');
  await page.click('#connections th[data-sort="remote"]');
  await page.waitForFunction(() => document.querySelector('#connections th[data-sort="remote"]').dataset.order === "desc");
  await settle();
  const firstRemote = await page.$eval("#connections tbody tr td:nth-child(3)", (c) => c.textContent);
  const maxPort = Math.max(...ctl("connections", "--match", "198.18.64.1:").connections.map((c) => Number(c.remote.split(":")[1])));
  check(firstRemote === `198.18.64.1:${maxPort}`, `descending by remote: first ${firstRemote}, highest port ${maxPort}`);
  const retransmits = await value("stack.ip.tcp_retransmits");
  check(retransmits !== null, `retransmissions shown (${retransmits})`);
  const dropReasons = await page.$$eval("#stack-drops tbody tr", (r) => r.length);
  check(dropReasons >= 10, `drops by reason: ${dropReasons} reasons`);
  check((await value("stack.ip.mbufs_held")) !== null, "mbufs held shown");
  await page.fill("#conn-filter", "");
  await settle();
  await shot("stack");

  // ---- applications (oryxd serves none: it says so and why)
  await tab("applications");
  await page.waitForSelector("#apps-note:not([hidden])");
  const apps = ctl("applications");
  check((await text("#apps-note")) === apps.note && !apps.embedded, "applications: oryxd explains that apps run under oryx run");
  await shot("applications");

  // ---- kernel fast paths: the sockmap and ebpf-bridge plugins' own panels
  await tab("sockmap");
  await page.waitForSelector("#sockmap-body:not([hidden])");
  await settle();
  const sm = ctl("sockmap").services[0];
  check(Number(await value("sockmap.mesh.pairs")) === sm.pairs.length, `sockmap pairs ${sm.pairs.length}`);
  const bytes1 = Number(await value("sockmap.mesh.bytes_redirected"));
  await page.waitForFunction((v) => Number(document.querySelector('[data-id="sockmap.mesh.bytes_redirected"]').dataset.value) > v,
                             bytes1, { timeout: 5000 });
  const bytes2 = Number(await value("sockmap.mesh.bytes_redirected"));
  const bytesCtl = ctl("stats").stages.mesh.counters.bytes_redirected;
  check(bytes2 > bytes1 && bytes2 <= bytesCtl, `sockmap bytes redirected increase: ${bytes1} -> ${bytes2} (oryxctl ${bytesCtl})`);
  await shot("sockmap");
  await tab("bridge");
  await page.waitForSelector("#bridge-body:not([hidden])");
  await settle();
  const fdb = ctl("bridge", "fdb").entries;
  for (const e of fdb) {
    const port = await value(`fdb.${e.mac}.${e.vlan}`);
    check(port === e.port, `FDB ${e.mac} behind ${port} (oryxctl ${e.port})`);
  }
  for (const p of env.UI_BRIDGE_PORTS.split(" ")) {
    const rx = Number(await value(`bridge.br.${p}.rx_frames`));
    check(rx > 0, `bridge port ${p}: ${rx} frames received`);
  }
  await shot("bridge");
  await tab("share");
  await page.waitForSelector("#share-body:not([hidden])");
  await settle();
  const sh = ctl("share").shares[0];
  const app = sh.applications[0], k = `share.share.${env.UI_SHARE_PID}`;
  check(app.pid === Number(env.UI_SHARE_PID), `oryxctl lists the attached process ${app.pid}`);
  check((await value(`${k}.name`)) === "ui-app" && (await value(`${k}.rules`)) === "tcp 7000" &&
        (await value(`${k}.interface`)) === app.interface,
        `the attached process: ${await value(`${k}.name`)}, ${await value(`${k}.rules`)}, ${await value(`${k}.interface`)}`);
  const gone = sh.reclaimed[0];
  check(gone.name === "ui-gone" && (await value(`share.share.reclaimed.${gone.pid}.name`)) === "ui-gone",
        `the process that left is listed as reclaimed (pid ${gone.pid}, ${gone.took_ms} ms)`);
  await shot("share");

  // ---- captures: start, watch, stop, download; API errors shown
  await tab("captures");
  await page.waitForSelector('#capture-points input[value="wire.rx"]');
  await page.fill("#capture-filter", "tcp port nonsense");
  await page.check('#capture-points input[value="wire.rx"]');
  await page.click("#capture-start");
  await page.waitForSelector("#capture-message.down:not([hidden])");
  check(/Starting the capture failed/.test(await text("#capture-message")),
        `a bad filter is reported: ${await text("#capture-message")}`);
  await page.fill("#capture-filter", "icmp");
  await page.fill("#capture-count", "20");
  await page.fill("#capture-name", "pings");
  await page.click("#capture-start");
  await page.waitForSelector("#capture-message.up:not([hidden])");
  const started = await text("#capture-message");
  const id = Number(/capture (\d+) started/.exec(started)[1]);
  await page.waitForSelector(`#captures tr[data-capture="${id}"][data-state="finished"]`, { timeout: 15000 });
  const written = Number(await value(`capture.${id}.written`));
  check(written === 20, `capture ${id} stopped itself after ${written} packets`);
  const [download] = await Promise.all([page.waitForEvent("download"),
    page.click(`#captures tr[data-capture="${id}"] button[data-action="download"]`)]);
  await download.saveAs(`${work}/capture.pcapng`);
  check(download.suggestedFilename().endsWith(".pcapng"), `downloaded ${download.suggestedFilename()}`);
  await page.fill("#capture-count", "0");
  await page.fill("#capture-name", "");
  await page.click("#capture-start");
  await page.waitForFunction((n) => /capture \d+ started/.test(document.getElementById("capture-message").textContent) &&
                             !document.getElementById("capture-message").textContent.includes(`capture ${n} `), id);
  const second = Number(/capture (\d+) started/.exec(await text("#capture-message"))[1]);
  await page.waitForSelector(`#captures tr[data-capture="${second}"][data-state="running"]`);
  await settle();
  await shot("captures");
  await page.click(`#captures tr[data-capture="${second}"] button[data-action="stop"]`);
  await page.waitForSelector(`#captures tr[data-capture="${second}"][data-state="finished"]`, { timeout: 10000 });
  const listed = ctl("capture", "list").captures.find((c) => c.id === second);
  check(listed.state === "finished", `capture ${second} stopped from the page (oryxctl: ${listed.state})`);

  // ---- config and plugins
  await tab("config");
  await page.waitForSelector("#plugins tbody tr td[data-id]");
  for (const p of plugins) check((await value(`plugin.${p.name}`)) === p.version, `plugin ${p.name} ${p.version}`);
  const configText = await text("#config-json");
  check(configText.includes("<redacted>") && !configText.includes(env.UI_TOKEN), "the token is redacted");
  await shot("config");

  // ---- broken answers show as errors, never a blank panel
  await page.route("**/api/v1/ports", (r) => r.fulfill({ status: 500, body: "<html>oops</html>" }));
  await page.waitForSelector("#error:not([hidden])", { timeout: 5000 });
  check(/not JSON/.test(await text("#error")), `broken /ports answer: "${await text("#error")}"`);
  await page.unroute("**/api/v1/ports");
  await page.waitForSelector("#error", { state: "hidden", timeout: 5000 });
  await tab("stack");
  await page.route("**/api/v1/connections*", (r) => r.fulfill({ status: 503, contentType: "application/json",
                                                                 body: '{"error": "stack restarting"}' }));
  await page.waitForSelector("#panel-stack .panel-error:not([hidden])", { timeout: 5000 });
  check(/stack restarting/.test(await text("#panel-stack .panel-error")), "an API error shows in the panel");
  await page.unroute("**/api/v1/connections*");
  check(scriptErrors.length === 0, `no script errors ${scriptErrors.join("; ")}`);
} catch (e) {
  check(false, e.stack || e.message);
  for (const sel of ["#state", "#error"]) console.log(`${sel}: ${await page?.textContent(sel).catch(() => "?")}`);
  console.log("the page's last 60 events:\n  " + trace.slice(-60).join("\n  "));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
