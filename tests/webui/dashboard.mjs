// dashboard.mjs - loads the Oryx dashboard in headless Debian chromium and
// checks that it shows the appliance and a live counter that changes.
// Usage: node dashboard.mjs URL STAGE COUNTER SCREENSHOT
import { chromium } from "playwright-core";

const [url, stage, counter, screenshot] = process.argv.slice(2);
if (!url || !stage || !counter) {
  console.error("usage: node dashboard.mjs URL STAGE COUNTER [SCREENSHOT]");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
const check = (ok, what) => {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) failed = true;
};
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => document.getElementById("state").textContent === "running",
                             null, { timeout: 10000 });
  check(true, "state badge shows running");
  const cell = `td[data-id="${stage}.${counter}"]`;
  await page.waitForSelector(cell, { timeout: 10000 });
  const first = await page.textContent(cell);
  await page.waitForFunction(([sel, v]) => {
    const el = document.querySelector(sel);
    return el && el.textContent !== v;
  }, [cell, first], { timeout: 10000 });
  const second = await page.textContent(cell);
  check(first !== second, `counter ${stage}.${counter} changed live: ${first} -> ${second}`);
  const ports = await page.$$eval("#ports tbody tr", (rows) => rows.length);
  check(ports > 0, `ports table has ${ports} row(s)`);
  const plugins = await page.$$eval("#plugins tbody tr td:first-child", (tds) => tds.map((t) => t.textContent));
  check(plugins.includes("io") && plugins.includes("xconnect"), `plugins listed: ${plugins.join(", ")}`);
  check(await page.isHidden("#error"), "no error banner");
  check(errors.length === 0, `no script errors ${errors.join("; ")}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
} catch (e) {
  check(false, e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
