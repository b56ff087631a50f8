// hold_open.mjs - keeps the dashboard open in headless Debian chromium for
// a while, as an operator watching it would (bench/dashboard.sh), and
// prints how many times it polled the appliance.
// Usage: node hold_open.mjs URL SECONDS
import { launchChromium } from "./browser.mjs";

const [url, seconds] = process.argv.slice(2);
if (!url || !(Number(seconds) > 0)) {
  console.error("usage: node hold_open.mjs URL SECONDS");
  process.exit(2);
}
const browser = await launchChromium();
let polls = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  page.on("request", (r) => { if (r.url().endsWith("/api/v1/status")) polls++; });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => document.getElementById("state").textContent === "running", null, { timeout: 10000 });
  console.error("dashboard open");
  await page.waitForTimeout(Number(seconds) * 1000);
} finally {
  await browser.close();
}
console.log(polls);
