// Every main page at phone width (390 px, as an iPhone 12-15), and the
// keyboard alone: runs after the other files (names sort), so the pages
// hold what earlier tests created. Screenshots: phone-*.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, PASSWORD, problems, newPage, shot, login, hydrated } from "../lib.mjs";

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

const TENANT_PAGES = ["/t/finance", "/t/finance/policy", "/t/finance/clients", "/t/finance/members", "/t/finance/tokens", "/t/finance/audit", "/t/finance/changes", "/t/finance/networks/web", "/account/password"];
const ADMIN_PAGES = ["/admin", "/admin/platform", "/admin/users", "/admin/jobs", "/admin/jobs?status=failed", "/admin/jobs/1", "/admin/devices", "/admin/devices/router/vyos-dc1-01", "/admin/platform/router/vyos-dc1-01", "/admin/platform/router/new", "/admin/platform/site/dc1", "/admin/platform/hypervisor/hv-dc1-01", "/admin/audit", "/admin/health"];

// The guides (mdBook, not hydrated): a chapter of each part, the widest tables.
const DOCS_PAGES = ["/docs/", "/docs/tenant/first-steps.html", "/docs/tenant/policy.html", "/docs/operator/configuration.html", "/docs/operator/troubleshooting.html", "/docs/reference/api.html"];

/** Fails when the page is wider than the screen (a horizontal scroll bar). */
async function fitsWidth(page, path, hydrates = true) {
  const r = await page.goto(`${BASE}${path}`);
  assert.ok(r.status() < 400, `${path}: ${r.status()}`);
  if (hydrates) await hydrated(page);
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client + 1, `${path} is ${scroll}px wide on a ${client}px screen`);
  if (hydrates && !path.startsWith("/account")) await samePageHead(page, path);
  await shot(page, `phone-${path.replaceAll("/", "_").replace(/^_/, "") || "index"}`);
}

/** Every page's head is `[back link] h1 [line] tabs` (widgets/nav.rs):
 * the way back only on a page below a tab, and first; the tabs last. */
async function samePageHead(page, path) {
  const head = await page.evaluate(() => {
    const h = document.querySelector("main .page-head");
    return h && [...h.children].map((c) => (c.matches("p.back") ? "back" : c.tagName.toLowerCase()));
  });
  assert.ok(head, `${path}: no page head`);
  assert.equal(head.at(-1), "nav", `${path}: the tabs end the head: ${head}`);
  const h1 = head.indexOf("h1");
  assert.ok(h1 === 0 || (h1 === 1 && head[0] === "back"), `${path}: [back] h1 first: ${head}`);
  const below = /\/(jobs|devices|platform)\/|\/networks\/|\/clients\/|\/reset$/.test(path.split("?")[0]);
  assert.equal(head[0] === "back", below, `${path}: a back link only below a tab: ${head}`);
}

test("tenant pages fit a phone's width", async () => {
  const page = await newPage(PHONE);
  await login(page, "finance-admin@example.com");
  // And a job's page: the first change listed (earlier files made some).
  await page.goto(`${BASE}/t/finance/changes`);
  const jobs = page.locator('main a[href^="/t/finance/jobs/"]');
  const job = (await jobs.count()) > 0 ? [await jobs.first().getAttribute("href")] : [];
  for (const p of [...TENANT_PAGES, ...job]) await fitsWidth(page, p);
  await page.context().close();
});

test("admin pages fit a phone's width", async () => {
  const page = await newPage(PHONE);
  await login(page, "admin@example.com");
  for (const p of ADMIN_PAGES) await fitsWidth(page, p);
  await page.context().close();
});

test("the guides fit a phone's width", async () => {
  const page = await newPage(PHONE);
  for (const p of DOCS_PAGES) await fitsWidth(page, p, false);
  await page.context().close();
});

test("logging in works with the keyboard alone", async () => {
  const page = await newPage();
  await page.goto(`${BASE}/login`);
  await hydrated(page);
  // Tab reaches the email field (the page may have focused it already, and
  // Tab then cycles through the password, the button, the skip link, the
  // brand and Help), then the password.
  await page.keyboard.press("Tab");
  let focused = await page.evaluate(() => document.activeElement?.getAttribute("name"));
  for (let i = 0; i < 9 && focused !== "email"; i++) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement?.getAttribute("name"));
  }
  assert.equal(focused, "email");
  await page.keyboard.type("finance-member@example.com");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "password");
  await page.keyboard.type(PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === "/t/finance"), page.keyboard.press("Enter")]);
  // Focus is visible: the focused element draws an outline.
  await page.keyboard.press("Tab");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none");
  await page.context().close();
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
