// Every page at phone width (390 px, as an iPhone 12-15) and at desktop
// width (1280 px), and the keyboard alone: runs after the other files
// (names sort), so the pages hold what earlier tests created.
// Screenshots: phone-*.png and desktop-*.png, every page at both widths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, PASSWORD, problems, newPage, shot, login, hydrated } from "../lib.mjs";

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 900 } };

const TENANT_PAGES = ["/t/finance", "/t/finance/policy", "/t/finance/clients", "/t/finance/members", "/t/finance/tokens", "/t/finance/audit", "/t/finance/changes", "/t/finance/networks/web", "/t/finance/networks/web/delete", "/account/password"];
const ADMIN_PAGES = ["/admin", "/admin/platform", "/admin/users", "/admin/jobs", "/admin/jobs?status=failed", "/admin/jobs/1", "/admin/devices", "/admin/devices/router/vyos-dc1-01", "/admin/devices/hypervisor/hv-dc1-01", "/admin/platform/router/vyos-dc1-01", "/admin/platform/router/new", "/admin/platform/site/dc1", "/admin/platform/site/new", "/admin/platform/hypervisor/hv-dc1-01", "/admin/platform/hypervisor/new", "/admin/platform/router/vyos-dc1-01/delete", "/admin/audit", "/admin/health"];

// The guides (mdBook, not hydrated): a chapter of each part, the widest tables.
const DOCS_PAGES = ["/docs/", "/docs/tenant/first-steps.html", "/docs/tenant/policy.html", "/docs/operator/configuration.html", "/docs/operator/troubleshooting.html", "/docs/reference/api.html"];

/** The first link on `path` whose href matches `re` (pages whose address
 * holds an id or a name the earlier tests chose: a job, a client, a
 * member, a revision). */
async function linkOn(page, path, re) {
  await page.goto(`${BASE}${path}`);
  for (const h of await page.locator("main a[href]").evaluateAll((as) => as.map((a) => a.getAttribute("href"))))
    if (re.test(h)) return [h];
  return [];
}

/** A tenant admin's pages, with those reached from their lists. */
async function tenantPages(page) {
  return [
    ...TENANT_PAGES,
    ...(await linkOn(page, "/t/finance/changes", /^\/t\/finance\/jobs\/\d+$/)),
    ...(await linkOn(page, "/t/finance/clients", /^\/t\/finance\/clients\/[^/]+\/delete$/)),
    ...(await linkOn(page, "/t/finance/members", /^\/t\/finance\/members\/[^/]+\/reset$/)),
    ...(await linkOn(page, "/t/finance/members", /^\/t\/finance\/members\/[^/]+\/remove$/)),
  ];
}

/** A platform admin's pages, with those reached from their lists. */
async function adminPages(page) {
  return [
    ...ADMIN_PAGES,
    ...(await linkOn(page, "/admin/users", /^\/admin\/users\/[^/]+\/reset$/)),
    ...(await linkOn(page, "/admin/devices/router/vyos-dc1-01", /^\/admin\/devices\/router\/vyos-dc1-01\/\d+$/)),
  ];
}

/** Fails when the page is wider than the screen (a horizontal scroll bar),
 * or, at desktop width, when a portal page's table scrolls sideways
 * inside its card. */
async function fitsWidth(page, path, name, hydrates = true) {
  const r = await page.goto(`${BASE}${path}`);
  assert.ok(r.status() < 400, `${path}: ${r.status()}`);
  if (hydrates) await hydrated(page);
  const { scroll, client, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    // Boxes that scroll sideways (a wide table's wrapper): fine on a
    // phone, a layout fault on a desktop screen. Not listings (pre: a
    // configuration's long lines scroll rather than break mid-token).
    inner: [...document.querySelectorAll("main *")]
      .filter((e) => e.tagName !== "PRE" && ["auto", "scroll"].includes(getComputedStyle(e).overflowX))
      .filter((e) => e.scrollWidth > e.clientWidth + 1)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className}: ${e.scrollWidth} > ${e.clientWidth}`),
  }));
  assert.ok(scroll <= client + 1, `${path} is ${scroll}px wide on a ${client}px screen`);
  // The portal's pages only: the guides' wide tables and shell lines
  // scroll in mdBook's own boxes.
  if (hydrates && client >= 1280) assert.deepEqual(inner, [], `${path} scrolls sideways inside the page at ${client}px`);
  if (hydrates && !path.startsWith("/account")) await samePageHead(page, path);
  await shot(page, `${name}-${path.replaceAll("/", "_").replace(/^_/, "").replace("?", "_") || "index"}`);
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
  const below = /\/(jobs|devices|platform)\/|\/networks\/|\/clients\/|\/members\/|\/users\/|\/reset$/.test(path.split("?")[0]);
  assert.equal(head[0] === "back", below, `${path}: a back link only below a tab: ${head}`);
}

for (const [name, size] of [["phone", PHONE], ["desktop", DESKTOP]]) {
  test(`tenant pages fit a ${name}'s width`, async () => {
    const page = await newPage(size);
    await login(page, "finance-admin@example.com");
    for (const p of await tenantPages(page)) await fitsWidth(page, p, name);
    await page.context().close();
  });

  test(`admin pages fit a ${name}'s width`, async () => {
    const page = await newPage(size);
    await login(page, "admin@example.com");
    for (const p of await adminPages(page)) await fitsWidth(page, p, name);
    await page.context().close();
  });

  test(`the login page and the guides fit a ${name}'s width`, async () => {
    const page = await newPage(size);
    await fitsWidth(page, "/login", name, false);
    for (const p of DOCS_PAGES) await fitsWidth(page, p, name, false);
    await page.context().close();
  });
}

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
