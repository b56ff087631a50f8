// browser.mjs - Debian's chromium, headless, through playwright-core, as
// the dashboard tests launch it; `extraArgs` for a test's own flags.
import { chromium } from "playwright-core";

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export function launchChromium(extraArgs = []) {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: [...CHROMIUM_ARGS, ...extraArgs] });
}
