// The guides at /docs/ (docs/, built by scripts/build-docs into the
// binary): each portal page's Help link opens the chapter about it, the
// book's own navigation and search work under the server's CSP, unknown
// pages are the book's 404, and the pages read at desktop and phone width.
// Screenshots: docs-*.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, problems, newPage, shot, login } from "../lib.mjs";

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/** Follows the header's Help link from `from` and checks where it lands. */
async function helpLeadsTo(page, from, chapter, heading) {
  const r = await page.goto(`${BASE}${from}`);
  assert.ok(r.status() < 400, `${from}: ${r.status()}`);
  const help = page.locator("header.top a.help");
  assert.equal(await help.textContent(), "Help");
  await Promise.all([page.waitForURL(`${BASE}${chapter}`), help.click()]);
  assert.equal(await page.locator("main h1").first().textContent(), heading);
}

test("each tenant page's Help link opens its chapter of the tenant guide", async () => {
  const page = await newPage();
  await login(page, "finance-admin@example.com");
  await helpLeadsTo(page, "/t/finance", "/docs/tenant/first-steps.html", "First steps");
  await helpLeadsTo(page, "/t/finance/policy", "/docs/tenant/policy.html", "Services and policy");
  await shot(page, "docs-policy-desktop");
  await helpLeadsTo(page, "/t/finance/clients", "/docs/tenant/clients.html", "WireGuard clients");
  await helpLeadsTo(page, "/t/finance/changes", "/docs/tenant/jobs-and-health.html", "Jobs and health");
  await helpLeadsTo(page, "/t/finance/members", "/docs/tenant/members.html", "Members, API tokens and the audit log");
  await helpLeadsTo(page, "/t/finance/networks/web", "/docs/tenant/networks.html", "Networks");
  // The chapter's own links lead on: from the policy chapter to the API reference.
  await page.goto(`${BASE}/docs/tenant/first-steps.html`);
  await Promise.all([
    page.waitForURL(`${BASE}/docs/reference/api.html`),
    page.locator("main").getByRole("link", { name: "HTTP API" }).first().click(),
  ]);
  assert.equal(await page.locator("main h1").first().textContent(), "The HTTP API");
  await page.context().close();
});

test("the console's Help link opens the operator guide", async () => {
  const page = await newPage();
  await login(page, "admin@example.com");
  await helpLeadsTo(page, "/admin/health", "/docs/operator/device-health.html",
    "Device health, expected versus observed (issue 18, items 1 and 2)");
  await helpLeadsTo(page, "/admin/platform", "/docs/operator/platform.html", "The platform");
  await shot(page, "docs-platform-desktop");
  await page.context().close();
});

test("the guides need no login, and their navigation and search work", async () => {
  const page = await newPage();
  const r = await page.goto(`${BASE}/docs`);
  assert.equal(r.status(), 200);
  assert.equal(new URL(page.url()).pathname, "/docs/");
  assert.equal(await page.locator("main h1").first().textContent(), "vxguard");
  // The sidebar lists both guides' chapters.
  const toc = page.locator("#mdbook-sidebar, nav#sidebar, .sidebar").first();
  await toc.getByRole("link", { name: "WireGuard clients" }).first().waitFor();
  await Promise.all([
    page.waitForURL(`${BASE}/docs/operator/troubleshooting.html`),
    toc.getByRole("link", { name: "Troubleshooting" }).first().click(),
  ]);
  assert.equal(await page.locator("main h1").first().textContent(), "Troubleshooting");
  // mdBook's search (its index is part of the build): "QR code" finds the clients chapter.
  await page.keyboard.press("s");
  const search = page.locator("input[type=search]").first();
  await search.waitFor();
  // Typed key by key: mdBook searches on keyup.
  await search.pressSequentially("QR code");
  const hit = page.locator("ul#mdbook-searchresults a, ul#searchresults a").first();
  await hit.waitFor();
  assert.match(await hit.getAttribute("href"), /tenant\/clients\.html/);
  await shot(page, "docs-search-desktop", false);
  await page.context().close();
});

test("an unknown page is the book's 404, and nothing leaves the book", async () => {
  const page = await newPage();
  let r = await page.goto(`${BASE}/docs/no-such-chapter.html`);
  assert.equal(r.status(), 404);
  assert.match(await page.locator("main").textContent(), /not found|404/i);
  r = await page.goto(`${BASE}/docs/%2e%2e/Cargo.toml`);
  assert.equal(r.status(), 404);
  await page.context().close();
});

test("a chapter reads on a phone: no sideways scroll, the menu opens", async () => {
  const page = await newPage(PHONE);
  for (const p of ["/docs/", "/docs/tenant/policy.html", "/docs/reference/api.html", "/docs/design/benchmarks.html"]) {
    const r = await page.goto(`${BASE}${p}`);
    assert.equal(r.status(), 200, p);
    const { scroll, client } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    assert.ok(scroll <= client + 1, `${p} is ${scroll}px wide on a ${client}px screen`);
  }
  await page.goto(`${BASE}/docs/tenant/policy.html`);
  await shot(page, "docs-policy-phone", false);
  const toggle = page.locator("#mdbook-sidebar-toggle, #sidebar-toggle").first();
  await toggle.click();
  await page.getByRole("link", { name: "WireGuard clients" }).first().waitFor({ state: "visible" });
  // The menu slides in: the screenshot waits until it is all on screen.
  await page.waitForFunction(() => document.querySelector("#mdbook-sidebar, #sidebar")?.getBoundingClientRect().left >= 0);
  await shot(page, "docs-menu-phone", false);
  await page.context().close();
});

test("no docs page logged an error", () => {
  assert.deepEqual(problems, []);
});
