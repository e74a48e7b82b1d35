// The platform editor's form generated from the JSON Schema (issue 19,
// item 5) and a new tenant admin's onboarding (item 6), in a real browser
// on the shared demo database (see portal.test.mjs): a router's field
// changed, previewed on the devices, applied and changed back; errors at
// their fields; an account an admin made choosing its own password first;
// the first-steps panel of a new tenant; times in the viewer's zone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, PASSWORD, problems, newPage, shot, login, hydrated } from "../lib.mjs";

const ROUTER = `${BASE}/admin/platform/router/vyos-dc1-01`;

/** Screenshot at phone width; fails when the page scrolls sideways there. */
async function fitsPhone(page, name) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, `${name}-phone`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name} scrolls sideways on a phone by ${overflow}px`);
  await page.setViewportSize(size);
}

/** Sets the router's underlay interface through the form and applies it. */
async function applyInterface(page, name) {
  await page.getByLabel("Underlay interface").fill(name);
  await Promise.all([page.waitForURL(/\?saved=\d+$/), page.getByRole("button", { name: "Apply" }).click()]);
  await hydrated(page);
  assert.match(await page.locator("#notice").innerText(), /Saved\. Job #\d+ compiles it\./);
  assert.equal(await page.getByLabel("Underlay interface").inputValue(), name);
}

test("a router is edited through the form from its schema, previewed on the devices, then applied", async () => {
  const page = await newPage();
  await login(page, "admin@example.com");
  await page.goto(ROUTER);
  await hydrated(page);
  // A field per property, its description as help, the version a select.
  assert.equal(await page.getByLabel("Name").inputValue(), "vyos-dc1-01");
  assert.equal(await page.getByLabel("Name").getAttribute("readonly"), "");
  assert.equal(await page.locator("#f-version").evaluate((e) => e.tagName), "SELECT");
  assert.match(await page.locator("#f-underlay_interface-hint").innerText(), /underlay interface.*Default: eth0/);
  assert.match(await page.locator("#f-api_endpoint-hint").innerText(), /VyOS HTTPS API/);
  // The JSON stays for experts.
  assert.ok(await page.getByLabel("The router as JSON").isVisible());
  await page.getByLabel("Underlay interface").fill("eth1");
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST"),
    page.getByRole("button", { name: "Preview on the devices" }).click(),
  ]);
  assert.equal(res.status(), 200);
  await hydrated(page);
  assert.match(await page.locator("#preview-h").innerText(), /Change router vyos-dc1-01/);
  const dev = page.locator('#preview details[data-device="vyos-dc1-01"]');
  assert.match(await dev.innerText(), /eth1/);
  assert.equal(await page.getByLabel("Underlay interface").inputValue(), "eth1", "the typed value stays");
  await shot(page, "50-platform-form-preview");
  await fitsPhone(page, "50-platform-form-preview");
  await applyInterface(page, "eth1");
  await shot(page, "51-platform-form");
  await fitsPhone(page, "51-platform-form");
  // Back as it was, for the files that follow.
  await applyInterface(page, "eth0");
  await page.context().close();
});

test("the form's errors are at their fields, all at once, and nothing is saved", async () => {
  const page = await newPage();
  await login(page, "admin@example.com");
  await page.goto(ROUTER);
  await hydrated(page);
  await page.getByLabel("Site").fill("");
  await page.getByLabel("Api endpoint").fill("");
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST"),
    page.getByRole("button", { name: "Apply" }).click(),
  ]);
  assert.equal(res.status(), 422);
  await hydrated(page);
  assert.match(await page.locator("#f-site-error").innerText(), /Site is required/);
  assert.match(await page.locator("#f-api_endpoint-error").innerText(), /Api endpoint is required/);
  assert.equal(await page.getByLabel("Site").getAttribute("aria-invalid"), "true");
  // The server's own check, at its field.
  await page.getByLabel("Site").fill("dc1");
  await page.getByLabel("Api endpoint").fill("https://5.254.54.10");
  await page.getByLabel("Underlay address").fill("not-an-address");
  const [res2] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST"),
    page.getByRole("button", { name: "Apply" }).click(),
  ]);
  assert.equal(res2.status(), 422);
  await hydrated(page);
  assert.match(await page.locator("#f-underlay_address-error").innerText(), /^Underlay address: /);
  await shot(page, "52-platform-form-errors");
  await fitsPhone(page, "52-platform-form-errors");
  await page.goto(ROUTER);
  assert.notEqual(await page.getByLabel("Underlay address").inputValue(), "not-an-address");
  await page.context().close();
});

test("a new tenant's admin chooses a password first, then sees the first steps", async () => {
  const slug = `onboard${Date.now() % 100000}`;
  const email = `${slug}-admin@example.com`;
  const admin = await newPage();
  await login(admin, "admin@example.com");
  await admin.goto(`${BASE}/admin`);
  await hydrated(admin);
  await admin.getByLabel("Slug").fill(slug);
  await admin.getByLabel("Name", { exact: true }).fill("Onboarding Co");
  await admin.getByLabel("Admin email").fill(email);
  await admin.getByLabel("Initial password").fill(PASSWORD);
  await Promise.all([
    admin.waitForResponse((r) => r.request().method() === "POST"),
    admin.getByRole("button", { name: "Create tenant and admin" }).click(),
  ]);
  await admin.context().close();

  // Tokyo: the times on the pages are shown in the viewer's zone.
  const page = await newPage({ timezoneId: "Asia/Tokyo" });
  await login(page, email);
  await page.waitForURL(/\/account\/password\?first=1$/);
  await hydrated(page);
  assert.match(await page.locator("#password-required").innerText(), /choose your own/);
  await shot(page, "53-first-password");
  await fitsPhone(page, "53-first-password");
  // Nothing else is open until then.
  await page.goto(`${BASE}/t/${slug}/policy`);
  await page.waitForURL(/\/account\/password\?first=1$/);
  const mine = "a password of my very own";
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password", { exact: true }).fill(mine);
  await page.getByLabel("New password again").fill(mine);
  await Promise.all([
    page.waitForURL(new RegExp(`/t/${slug}$`)),
    page.getByRole("button", { name: "Change password" }).click(),
  ]);
  await hydrated(page);
  const steps = page.locator("#first-steps");
  assert.match(await steps.innerText(), /3 of 3 left/);
  for (const s of ["network", "rule", "client"]) {
    assert.equal(await steps.locator(`li[data-step="${s}"]`).getAttribute("data-state"), "todo");
  }
  assert.equal(await steps.getByRole("link", { name: "Add a policy rule" }).getAttribute("href"), `/t/${slug}/policy`);
  await shot(page, "54-first-steps");
  await fitsPhone(page, "54-first-steps");
  // A job time, shown in Tokyo's zone with the UTC text on hover.
  await page.goto(`${BASE}/t/${slug}/audit`);
  await hydrated(page);
  const t = page.locator("[data-utc]").first();
  await t.waitFor();
  assert.match(await t.getAttribute("title"), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? UTC$/);
  assert.doesNotMatch(await t.innerText(), / UTC/);
  assert.match(await t.innerText(), /GMT\+9|JST/);
  await page.context().close();
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
