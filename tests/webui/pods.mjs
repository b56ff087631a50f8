// pods.mjs - the eBPF bridge tab's pods table in headless Debian chromium
// (playwright-core), against the oryxd of tests/e2e/cni_spec.sh: one row
// per port oryx-cni added, with the pod's name (or container), address
// and veth exactly as GET /api/v1/bridge's aliases give them.
// Usage: node pods.mjs URL SCREENSHOT_PNG
import { launchChromium } from "./browser.mjs";

const [url, screenshot] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error("usage: node pods.mjs URL SCREENSHOT_PNG");
  process.exit(2);
}
let failed = false;
const check = (ok, what) => {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) failed = true;
};

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  const scriptErrors = [];
  page.on("pageerror", (e) => scriptErrors.push(e.message));
  await page.goto(url + "/#bridge", { waitUntil: "load" });
  await page.waitForSelector("#bridge-pods-box:not([hidden])", { timeout: 20000 });
  await page.waitForTimeout(1200);  // one more poll, then compare with a fresh read
  const api = await (await fetch(url + "/api/v1/bridge")).json();
  const expected = api.bridges.flatMap((b) => b.ports)
    .map((p) => [p.name, (p.alias || "").split(" ")])
    .filter(([, f]) => f[0] === "oryx-cni")
    .map(([port, f]) => ({ port, name: f[5] === "-" ? f[1] : f[5], address: f[4] }));
  check(expected.length >= 2, `${expected.length} pods in the API`);
  for (const pod of expected) {
    const name = await page.getAttribute(`[data-id="pod.${pod.port}.name"]`, "data-value");
    const address = await page.getAttribute(`[data-id="pod.${pod.port}.address"]`, "data-value");
    check(name === pod.name, `${pod.port}: pod "${name}"`);
    check(address === pod.address, `${pod.port}: address ${address}`);
  }
  const rows = await page.$$eval("#bridge-pods tbody tr", (trs) => trs.length);
  check(rows === expected.length, `${rows} rows for ${expected.length} pods`);
  check(scriptErrors.length === 0, `no script errors ${scriptErrors.join("; ")}`);
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
