// What every browser test file shares: Debian's Chromium (headless, with the
// flags it needs offline), cookie-less pages whose console errors are
// collected, logging in as a demo user, and screenshots into
// playwright/screenshots/. scripts/portal-e2e sets PORTAL_URL.
import { before, after } from "node:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const BASE = process.env.PORTAL_URL ?? "http://127.0.0.1:3098";
export const PASSWORD = process.env.VXGUARD_DEMO_PASSWORD ?? "vxguard-demo-password";
const SHOTS = new URL("./screenshots/", import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

// Flags Debian's Chromium needs on a machine with no outside network.
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let browser;
/** Errors pages logged; each file ends with a test that this is empty. */
export const problems = [];

// playwright starts Chromium with a fresh temporary --user-data-dir of its
// own (and removes it on close); each context below is isolated too.
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ARGS,
  });
});

after(async () => {
  await browser?.close();
});

/** A new, cookie-less browser context; console errors are collected in `problems`. */
export async function newPage(opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...opts });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // Error statuses of the pages themselves (401, 404, 422 on purpose) are
    // logged by Chromium as failed loads; anything else is a problem.
    if (m.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()))
      problems.push(`console: ${m.text()}`);
  });
  return page;
}

export async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

export async function login(page, email, password = PASSWORD) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.getByRole("button", { name: "Log in" }).click()]);
}

export async function hydrated(page) {
  await page.waitForSelector("body[data-hydrated=true]", { timeout: 10_000 });
}
