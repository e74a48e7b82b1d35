// The admin console's editor for sites, routers and hypervisors in a real
// browser, on the shared demo database (see portal.test.mjs): it changes
// hypervisor hv-dc2-01's bridge, sees the job, and changes it back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, problems, newPage, shot, login, hydrated } from "../lib.mjs";

/** Fails when the page scrolls sideways at phone width (390 px). */
async function fitsPhone(page, name) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, `${name}-phone`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name} scrolls sideways on a phone by ${overflow}px`);
  await page.setViewportSize(size);
}

/** Saves the spec with `bridge` and returns the job number shown. */
async function saveBridge(page, bridge) {
  const spec = JSON.parse(await page.getByLabel("The hypervisor as JSON").inputValue());
  spec.bridge = bridge;
  await page.getByLabel("The hypervisor as JSON").fill(JSON.stringify(spec, null, 2));
  await Promise.all([page.waitForURL(/\?saved=\d+$/), page.getByRole("button", { name: "Save" }).click()]);
  await hydrated(page);
  const job = Number(new URL(page.url()).searchParams.get("saved"));
  assert.match(await page.locator("#notice").innerText(), new RegExp(`Saved\\. Job #${job} compiles it\\.`));
  assert.equal(JSON.parse(await page.locator("#spec").inputValue()).bridge, bridge);
  return job;
}

test("an admin edits a hypervisor's spec and sees the job", async () => {
  const page = await newPage();
  await login(page, "admin@example.com");
  await page.goto(`${BASE}/admin/platform`);
  await hydrated(page);
  await Promise.all([
    page.waitForURL(/\/admin\/platform\/hypervisor\/hv-dc2-01$/),
    page.getByRole("link", { name: "Edit hv-dc2-01" }).click(),
  ]);
  await hydrated(page);
  // Malformed JSON: its line and column, and nothing saved.
  const before = await page.locator("#spec").inputValue();
  await page.getByLabel("The hypervisor as JSON").fill('{\n  "name": "hv-dc2-01",\n  "site" "dc2"\n}');
  const [bad] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST"),
    page.getByRole("button", { name: "Save" }).click(),
  ]);
  assert.equal(bad.status(), 400);
  assert.match(await page.locator("#form-errors").innerText(), /line 3:\d+/);
  await hydrated(page);
  await page.getByLabel("The hypervisor as JSON").fill(before);
  const job = await saveBridge(page, "br-tenants");
  await page.locator("#spec").focus();
  await shot(page, "35-admin-platform-edit");
  await fitsPhone(page, "35-admin-platform-edit");
  await Promise.all([page.waitForURL(/\/admin\/jobs$/), page.locator("#job-link").click()]);
  const row = page.locator(`#admin-jobs tr[data-key="${job}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /hypervisors\/hv-dc2-01/);
  // Back as it was, for the files that follow.
  await page.goto(`${BASE}/admin/platform/hypervisor/hv-dc2-01`);
  await hydrated(page);
  assert.ok((await saveBridge(page, "br-int")) > job);
  await page.context().close();
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
