// Network health (issue 18, item 5) in a real browser: the tenant
// dashboard's health card and topology picture, and the console's device
// health page with its filters and platform map, with JavaScript and
// without, at desktop and phone width. The server scripts/portal-e2e starts
// runs the health collector (every 30 s by default) against the demo's
// routers, which do not exist: the first round finds them not answering,
// which is exactly what the pages must then show. Screenshots: health-*.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, problems, newPage, shot, login, hydrated } from "../lib.mjs";

const PHONE = { width: 390, height: 844 };

/** Reloads `path` until the health collector's first round shows (≤ 60 s). */
async function collected(page, path) {
  for (let i = 0; i < 60; i++) {
    await page.goto(`${BASE}${path}`);
    if (await page.locator("#health-when").count()) return;
    await page.locator("#health-none").waitFor();
    await page.waitForTimeout(1000);
  }
  assert.fail(`${path}: no collection round within 60 s`);
}

async function noSidewaysScroll(page, name) {
  const size = page.viewportSize();
  await page.setViewportSize(PHONE);
  await shot(page, `${name}-phone`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name} scrolls sideways on a phone by ${overflow}px`);
  await page.setViewportSize(size);
}

test("a tenant's dashboard shows its gateways, clients and their picture", async () => {
  const page = await newPage();
  await login(page, "finance-member@example.com");
  await collected(page, "/t/finance");
  await hydrated(page);
  const card = page.locator("#health");
  assert.match(await card.locator("#health-when").innerText(), /Collected \d+ (s|min) ago .*: \d+ ok, \d+ degraded, \d+ down/);
  // One row per network and site, and the tenant's client.
  for (const key of ["web/dc1", "web/dc2", "db/dc2"])
    await card.locator(`#health-groups tr[data-key="${key}"]`).waitFor();
  const client = card.locator('#health-clients tr[data-key="cfo-laptop"]');
  // Its gateway does not exist: down, and said so in words.
  assert.match(await client.innerText(), /down/);
  assert.match(await client.innerText(), /does not answer/);
  // The picture: an image named by its title, with text labels.
  const svg = card.locator("svg#topology");
  assert.equal(await svg.getAttribute("role"), "img");
  assert.match(await svg.locator("title#topology-title").textContent(), /Topology of finance/);
  const labels = await svg.locator("text").allTextContents();
  for (const l of ["site dc1", "site dc2", "web", "db", "cfo-laptop", "vyos-dc1-01"]) assert.ok(labels.includes(l), `${l} in ${labels}`);
  assert.ok(labels.some((l) => l.includes("down")), "status words, not colour alone");
  // Nothing of another tenant nor of the platform's devices.
  const text = await page.locator("main").innerText();
  for (const other of ["ACME", "acme", "Globex", "hv-dc1-01", "wireguard:"]) assert.ok(!text.includes(other), `${other} on finance's dashboard`);
  const box = await svg.boundingBox();
  assert.ok(box.width > 200 && box.height > 100, `the picture is drawn: ${JSON.stringify(box)}`);
  await shot(page, "health-tenant");
  await page.setViewportSize({ width: 390, height: 844 });
  await svg.scrollIntoViewIfNeeded();
  await shot(page, "health-tenant-phone-map", false);
  await page.setViewportSize({ width: 1280, height: 900 });
  await noSidewaysScroll(page, "health-tenant");
  await page.context().close();
});

test("the dashboard's health card works without JavaScript", async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await login(page, "acme-member@example.com");
  await collected(page, "/t/acme");
  const card = page.locator("#health");
  await card.locator('#health-clients tr[data-key="ops"]').waitFor();
  await card.locator("svg#topology").waitFor();
  assert.ok(!(await page.locator("main").innerText()).includes("cfo-laptop"));
  await page.context().close();
});

test("the console's device health page filters with a plain GET form and draws the platform map", async () => {
  // Without JavaScript: the form and the links are all it takes.
  const page = await newPage({ javaScriptEnabled: false });
  await login(page, "admin@example.com");
  await page.goto(`${BASE}/admin`);
  await page.getByRole("navigation", { name: "Admin console" }).getByRole("link", { name: "Health" }).click();
  await page.waitForURL((u) => u.pathname === "/admin/health");
  await collected(page, "/admin/health");
  const rows = page.locator("#health-items tbody tr");
  const all = await rows.count();
  assert.ok(all >= 6, `${all} items`);
  // The demo's routers do not exist: they are down, with the device's error.
  await page.getByLabel("Status", { exact: true }).selectOption("down");
  await page.getByLabel("Kind", { exact: true }).selectOption("router");
  await Promise.all([page.waitForURL((u) => u.search.includes("status=down")), page.getByRole("button", { name: "Filter" }).click()]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get("kind"), "router");
  const keys = await rows.evaluateAll((trs) => trs.map((t) => t.dataset.key));
  assert.deepEqual(keys.sort(), ["router:vyos-dc1-01", "router:vyos-dc1-02", "router:vyos-dc2-01", "router:vyos-dc2-02"]);
  for (const t of await rows.allInnerTexts()) assert.match(t, /down/);
  // The choices stay chosen.
  assert.equal(await page.getByLabel("Status", { exact: true }).inputValue(), "down");
  await page.getByLabel("Site", { exact: true }).selectOption("dc2");
  await Promise.all([page.waitForURL((u) => u.search.includes("site=dc2")), page.getByRole("button", { name: "Filter" }).click()]);
  assert.equal(await rows.count(), 2);
  await page.getByRole("link", { name: "Clear" }).click();
  await page.waitForURL((u) => u.pathname === "/admin/health" && u.search === "");
  assert.equal(await rows.count(), all);
  // The map: each site with its devices, which link to their pages.
  const map = page.locator("svg#platform-map");
  assert.equal(await map.getAttribute("role"), "img");
  const labels = await map.locator("text").allTextContents();
  assert.ok(labels.includes("site dc1") && labels.includes("site dc2"), labels.join(", "));
  await Promise.all([
    page.waitForURL((u) => u.pathname === "/admin/devices/router/vyos-dc1-01"),
    map.getByRole("link", { name: "router vyos-dc1-01, down" }).click(),
  ]);
  await page.context().close();
});

test("the device health page at desktop and phone width", async () => {
  const page = await newPage();
  await login(page, "admin@example.com");
  await collected(page, "/admin/health");
  await hydrated(page);
  await shot(page, "health-admin");
  await shot(page, "health-admin-top", false);
  await noSidewaysScroll(page, "health-admin");
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, "health-admin-phone-top", false);
  await page.context().close();
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
