// applications.mjs - the dashboard's Applications panel in headless Debian
// chromium (playwright-core) against the API inside a program run by
// `oryx run` (tests/e2e/preload_redis.sh): it must name the process and
// list the sockets the program holds on Oryx exactly as
// `oryxctl --json applications` does at the same moment.
// Usage: node applications.mjs URL ORYXCTL SCREENSHOT_PNG
import { execFileSync } from "node:child_process";
import { launchChromium } from "./browser.mjs";

const [url, oryxctl, screenshot] = process.argv.slice(2);
if (!url || !oryxctl || !screenshot) {
  console.error("usage: node applications.mjs URL ORYXCTL SCREENSHOT_PNG");
  process.exit(2);
}
let failed = false;
const check = (ok, what) => {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) failed = true;
};
const ctl = () => JSON.parse(execFileSync(oryxctl, ["-u", url, "--json", "applications"], { encoding: "utf8" }));

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  const scriptErrors = [];
  page.on("pageerror", (e) => scriptErrors.push(e.message));
  await page.goto(url + "/#applications", { waitUntil: "load" });
  await page.waitForSelector("#apps-body:not([hidden])", { timeout: 10000 });
  await page.waitForTimeout(1200); // one more poll, then compare with a fresh read
  const app = ctl().applications[0];
  const byId = (id) => page.textContent(`[data-id="${id}"]`);

  check(await page.isHidden("#apps-note"), "no 'runs no application' note inside `oryx run`");
  const shownProcess = await byId("app.process");
  check(shownProcess === `${app.name} (pid ${app.pid})`, `the process: "${shownProcess}"`);
  check((await page.textContent("#apps-command")) === app.command, `the command line: ${app.command}`);
  const onOryx = Number(await byId("app.oryx"));
  check(onOryx === app.descriptors.managed_by_oryx, `descriptors on Oryx: ${onOryx}`);
  for (const [kind, n] of Object.entries(app.oryx_sockets_by_kind)) {
    const shown = Number(await page.getAttribute(`[data-id="app.kind.${kind}"]`, "data-value"));
    check(shown === n, `${kind}: ${shown} descriptor(s)`);
  }
  const rows = await page.$$eval("#apps-sockets tbody tr", (trs) =>
    trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  const expected = app.oryx_sockets.map((s) => [String(s.fd), s.kind, s.local || "–", s.remote || "–"]);
  check(JSON.stringify(rows) === JSON.stringify(expected),
        `the socket table matches oryxctl: ${rows.map((r) => r.join(" ")).join(" | ")}`);
  check(expected.some((r) => r[1] === "tcp-listen") && expected.some((r) => r[3] !== "–"),
        "a listening socket and a connected one are listed");
  // The threading model and one row per thread that used the stack, with
  // the application's thread and the keeper (shared model, the default).
  const model = await byId("app.model");
  check(model === app.threading.model, `the threading model: "${model}"`);
  const threads = await page.$$eval("#apps-threads tbody tr", (trs) =>
    trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  const roles = threads.map((r) => r[1]).sort();
  const listed = (app.threading.threads || []).map((x) => x.role).sort();
  check(listed.length === 0 || JSON.stringify(roles) === JSON.stringify(listed),
        `one row per thread: ${roles.join(", ")}`);
  check(app.threading.model !== "shared" || (roles.includes("application") && roles.includes("keeper")),
        "the shared model lists the application's thread and the keeper");
  await page.screenshot({ path: screenshot, fullPage: true });
  check(scriptErrors.length === 0, `no script errors ${scriptErrors.join("; ")}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
