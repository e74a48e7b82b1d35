// The services and policy page's other abilities (issue 19, items 1-2): a
// tenant admin adds, edits and deletes a service (refused, naming the rules,
// while a rule uses it), changes the default action, searches the rules by
// text, action and service, and reads a preview that opens where they are,
// says what it does first, groups identical devices and never wraps a line.
// Shares the demo database with the other files: it leaves the services,
// rules and default action as it found them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, problems, newPage, shot, login, hydrated } from "../lib.mjs";

async function jobDone(page, text) {
  const m = text.match(/job #(\d+)/);
  assert.ok(m, `no job in ${text}`);
  const id = Number(m[1]);
  let status = "";
  for (let i = 0; i < 100 && status !== "done" && status !== "failed"; i++) {
    const r = await page.request.get(`${BASE}/t/finance/jobs`);
    status = (await r.json()).find((j) => j.id === id)?.status ?? "";
    if (status !== "done") await page.waitForTimeout(200);
  }
  assert.equal(status, "done", `job ${id}`);
}

const notice = (page) => page.locator("#policy-notice").innerText();
const serviceRow = (page, name) => page.locator(`#services tr[data-service="${name}"]`);

test("a tenant admin adds, edits and deletes a service, and changes the default action", async () => {
  const page = await newPage();
  await login(page, "finance-admin@example.com");
  await page.goto(`${BASE}/t/finance/policy`);
  await hydrated(page);

  // A bad address: the error is at the field, in words; nothing saved.
  await page.getByLabel("Name", { exact: true }).fill("resolvers");
  await page.getByLabel("Addresses").fill("100.64.9.53\n100.64.9.300");
  await Promise.all([page.waitForURL(/\/policy\/services$/), page.getByRole("button", { name: "Add service" }).click()]);
  const err = page.locator("#service_addresses-error");
  await err.waitFor();
  assert.match(await err.innerText(), /\S/);
  assert.equal(await page.getByLabel("Addresses").getAttribute("aria-invalid"), "true");
  assert.equal(await serviceRow(page, "resolvers").count(), 0);
  await shot(page, "policy-services-01-error");

  // Fixed: added (a bare address is a /32), used by no rule.
  await page.getByLabel("Addresses").fill("100.64.9.53\n100.64.9.54/32");
  await Promise.all([page.waitForURL(/done=service-added/), page.getByRole("button", { name: "Add service" }).click()]);
  await hydrated(page);
  assert.match(await notice(page), /Service resolvers added; job #/);
  await jobDone(page, await notice(page));
  assert.match(await serviceRow(page, "resolvers").innerText(), /100\.64\.9\.53\/32, 100\.64\.9\.54\/32/);
  assert.match(await serviceRow(page, "resolvers").locator(".used-by").innerText(), /no rule/);

  // Edited: its form is filled from it; the name stays.
  await page.getByRole("link", { name: "Edit service resolvers" }).click();
  await page.getByRole("heading", { name: "Edit service resolvers" }).waitFor();
  await page.getByLabel("Addresses").fill("100.64.9.53/32");
  await page.getByLabel("Purpose").fill("DNS resolvers");
  await Promise.all([page.waitForURL(/done=service-changed/), page.getByRole("button", { name: "Save service" }).click()]);
  await hydrated(page);
  assert.match(await serviceRow(page, "resolvers").innerText(), /DNS resolvers/);
  assert.doesNotMatch(await serviceRow(page, "resolvers").innerText(), /100\.64\.9\.54/);

  // A rule from the service: now a tenant can write one in the portal.
  const id = await page.getByLabel("Rule number").inputValue();
  await page.getByLabel("Description").fill("To the resolvers");
  await page.getByLabel("Protocol").selectOption("udp");
  await page.getByLabel("Destination port").fill("53");
  await page.getByLabel("To", { exact: true }).selectOption("service:resolvers");
  await Promise.all([page.waitForURL(/done=created/), page.getByRole("button", { name: "Add rule" }).click()]);
  await hydrated(page);
  await jobDone(page, await notice(page));
  assert.match(await serviceRow(page, "resolvers").locator(".used-by").innerText(), new RegExp(`rule ${id}`));

  // Deleting it while the rule uses it: refused, the rule named at the row.
  await Promise.all([page.waitForURL(/\/delete$/), page.getByRole("button", { name: "Delete service resolvers" }).click()]);
  const why = serviceRow(page, "resolvers").locator(".field-error");
  assert.match(await why.innerText(), new RegExp(`Service resolvers is used by rule ${id}: change those rules or delete them first`));
  await shot(page, "policy-services-02-in-use");

  // The rule goes (after its preview), then the service can.
  await page.goto(`${BASE}/t/finance/policy`);
  await Promise.all([page.waitForURL(/\/policy\/preview#preview$/), page.getByRole("button", { name: `Delete rule ${id}`, exact: true }).click()]);
  await Promise.all([page.waitForURL(/done=deleted/), page.locator("#confirm-change").click()]);
  await jobDone(page, await notice(page));
  await Promise.all([page.waitForURL(/done=service-deleted/), page.getByRole("button", { name: "Delete service resolvers" }).click()]);
  await hydrated(page);
  assert.match(await notice(page), /Service resolvers deleted/);
  assert.equal(await serviceRow(page, "resolvers").count(), 0);
  await jobDone(page, await notice(page));

  // The default action: reject, then back to drop.
  assert.equal(await page.locator("#default-action").innerText(), "drop");
  for (const action of ["reject", "drop"]) {
    await page.getByLabel("Traffic no rule matches").selectOption(action);
    await Promise.all([page.waitForURL(/done=default/), page.getByRole("button", { name: "Save default action" }).click()]);
    await hydrated(page);
    assert.match(await notice(page), new RegExp(`Default action set to ${action}; job #`));
    assert.equal(await page.locator("#default-action").innerText(), action);
    await jobDone(page, await notice(page));
  }
  await page.context().close();
});

test("rules are searched by text, action and service with a plain GET", async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await login(page, "finance-member@example.com");
  await page.goto(`${BASE}/t/finance/policy`);
  await page.getByLabel("Find rules").fill("ssh");
  await Promise.all([page.waitForURL(/[?&]q=ssh/), page.getByRole("button", { name: "Search" }).click()]);
  const ids = () => page.locator("#rules tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.rule));
  assert.deepEqual(await ids(), ["3"]);
  assert.match(await page.locator("#rules-count").innerText(), /^1 of 3 rules match$/);
  // The rows keep their places among all the rules.
  assert.equal(await page.locator('tr[data-rule="3"] .rule-pos').innerText(), "3");
  await page.goto(`${BASE}/t/finance/policy?action=accept&service=database-servers`);
  assert.deepEqual(await ids(), ["2"]);
  assert.equal(await page.getByLabel("Service used").inputValue(), "database-servers");
  await page.goto(`${BASE}/t/finance/policy?service=web-servers`);
  assert.deepEqual(await ids(), ["1", "2"]);
  await page.goto(`${BASE}/t/finance/policy?q=nothing-like-this`);
  assert.match(await page.locator("#rules-empty").innerText(), /No rule matches the search/);
  await page.getByRole("link", { name: "Clear" }).click();
  assert.equal((await ids()).length, 3);
  await page.context().close();
});

test("a preview opens where the user is, in words first, grouped, lines unbroken", async () => {
  for (const [width, name] of [[1280, "desktop"], [390, "phone"]]) {
    const page = await newPage({ viewport: { width, height: 844 } });
    await login(page, "finance-admin@example.com");
    await page.goto(`${BASE}/t/finance/policy?edit=1`);
    await hydrated(page);
    await page.getByLabel("Destination port").fill("8443");
    await Promise.all([page.waitForURL(/\/policy\/preview#preview$/), page.getByRole("button", { name: "Preview", exact: true }).click()]);
    await hydrated(page);
    const preview = page.locator("#preview");
    await preview.waitFor();
    // Scrolled to: the preview's top is on screen, not 1,000 px below it.
    const top = await preview.evaluate((e) => e.getBoundingClientRect().top);
    assert.ok(top >= -5 && top < 300, `${name}: preview at ${top}px`);
    const summary = await page.locator("#preview-summary").innerText();
    // Rule 1's port: its firewall rule changes on every router, its flows
    // (one per source and destination set) go and come on the hypervisors.
    assert.match(summary, /^Changes 1 firewall rule on (\d+) routers?; adds (\d+) flows? and removes \2 flows? on (\d+) hypervisors?\.$/);
    // Identical devices once: one router entry says where else it applies.
    const routers = Number(summary.match(/on (\d+) router/)[1]);
    const entries = await preview.locator('.device-diff[data-kind="router"]').count();
    if (routers > 1) {
      assert.ok(entries < routers, `${entries} router entries for ${routers} routers`);
      assert.match(await preview.locator('.device-diff[data-kind="router"] summary').first().innerText(), /same on vyos-/);
    }
    // Every line on one line: no wrapping mid-token; the block scrolls instead.
    const lines = await preview.locator("pre.diff span").evaluateAll((spans) =>
      spans.map((s) => ({ ws: getComputedStyle(s).whiteSpace, rects: s.getClientRects().length, h: s.offsetHeight, lh: parseFloat(getComputedStyle(s).lineHeight) || 20 }))
    );
    assert.ok(lines.length > 0);
    for (const l of lines) {
      assert.equal(l.ws, "pre");
      assert.ok(l.h < 1.6 * l.lh, `${name}: a diff line is ${l.h}px high (line height ${l.lh})`);
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `${name}: the page scrolls sideways by ${overflow}px`);
    await shot(page, `policy-preview-${name}`, false);
    await page.context().close();
  }
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
