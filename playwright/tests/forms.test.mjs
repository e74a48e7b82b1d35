// All of a form's errors at once (issue 19, item 6): the portal's forms
// carry `novalidate`, so the browser's "Please fill out this field" no
// longer stops a user at the first empty field; the server answers with
// every missing field and every bad value, each at its field. Checked on
// the new-tenant form, the rule form, the client form and the network
// form, at desktop and phone width. Creates nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, problems, newPage, shot, login, hydrated } from "../lib.mjs";

/** Submits the form with `button` and waits for the server's answer (422). */
async function submitBad(page, button) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST"),
    page.getByRole("button", { name: button, exact: true }).click(),
  ]);
  assert.equal(resp.status(), 422, `${button}: status`);
  await page.waitForLoadState();
}

/** Each field's error, at the field: shown, named by its input's aria-describedby. */
async function errorsAt(page, fields) {
  const out = {};
  for (const f of fields) {
    const err = page.locator(`#${f}-error`);
    await err.waitFor();
    assert.ok(await err.isVisible(), `${f}-error hidden`);
    assert.equal(await page.locator(`#${f}`).getAttribute("aria-invalid"), "true", `${f} aria-invalid`);
    assert.match(await page.locator(`#${f}`).getAttribute("aria-describedby"), new RegExp(`${f}-error`));
    out[f] = await err.innerText();
  }
  return out;
}

/** The same page at 390 px: a screenshot, and no sideways scrolling. */
async function phone(page, name) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, `${name}-phone`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name} scrolls sideways on a phone by ${overflow}px`);
  await page.setViewportSize(size);
}

test("the new-tenant form shows every missing field and bad value at once", async () => {
  const page = await newPage();
  await login(page, "admin@example.com");
  await hydrated(page);
  for (const f of ["slug", "name", "admin_email", "admin_password"])
    assert.equal(await page.locator(`#tenant-form #${f}`).getAttribute("required"), "", `${f} stays marked required`);
  assert.equal(await page.locator("#tenant-form").getAttribute("novalidate"), "");
  // Three fields left empty and a bad email: one submission, four errors.
  await page.getByLabel("Admin email").fill("not-an-email");
  await submitBad(page, "Create tenant and admin");
  const e = await errorsAt(page, ["slug", "name", "admin_email", "admin_password"]);
  assert.match(e.slug, /^Enter a slug/);
  assert.match(e.name, /^Enter the tenant's name/);
  assert.doesNotMatch(e.admin_email, /^Enter/, "a bad email is not a missing one");
  assert.match(e.admin_password, /^Enter an initial password of at least 12 characters/);
  assert.equal(await page.locator("#admin_email").inputValue(), "not-an-email");
  await hydrated(page);
  await page.locator("#tenant-form").scrollIntoViewIfNeeded();
  await shot(page, "forms-01-tenant-all-errors", false);
  await phone(page, "forms-01-tenant-all-errors");

  // The case: a bad slug no longer hides an email that has an
  // account, nor the short password.
  await page.getByLabel("Slug").fill("Research Lab");
  await page.getByLabel("Name", { exact: true }).fill("Research Lab");
  await page.getByLabel("Admin email").fill("finance-admin@example.com");
  await page.getByLabel("Initial password").fill("short");
  await submitBad(page, "Create tenant and admin");
  const d = await errorsAt(page, ["slug", "admin_email", "admin_password"]);
  assert.match(d.admin_email, /exists/);
  assert.match(d.admin_password, /12/);
  assert.equal(await page.locator("#name-error").count(), 0);
  await page.context().close();
});

test("the rule form shows every missing field and bad value at once", async () => {
  const page = await newPage();
  await login(page, "finance-admin@example.com");
  await page.goto(`${BASE}/t/finance/policy`);
  await hydrated(page);
  const before = await page.locator("#rules tbody tr").count();
  await page.getByLabel("Rule number").fill("");
  await page.getByLabel("Destination port").fill("99999");
  await page.getByLabel("To", { exact: true }).selectOption("cidr");
  await submitBad(page, "Add rule");
  const e = await errorsAt(page, ["id", "port", "destination_cidr"]);
  assert.match(e.id, /^Enter a rule number/);
  assert.match(e.port, /99999/);
  assert.match(e.destination_cidr, /^Enter the prefix/);
  assert.equal(await page.getByLabel("Destination port").inputValue(), "99999");
  assert.equal(await page.locator("#rules tbody tr").count(), before, "nothing added");
  await hydrated(page);
  await page.locator("#rule-form").scrollIntoViewIfNeeded();
  await shot(page, "forms-02-rule-all-errors", false);
  await phone(page, "forms-02-rule-all-errors");
  await page.context().close();
});

test("the client form shows every missing field and bad value at once", async () => {
  const page = await newPage();
  await login(page, "finance-admin@example.com");
  await page.goto(`${BASE}/t/finance/clients`);
  await hydrated(page);
  // Hydrated, the form posts by script: an empty name and a bad key.
  await page.getByLabel(/^Public key/).fill("not a key");
  await submitBad(page, "Create client");
  const e = await errorsAt(page, ["name", "public_key"]);
  assert.match(e.name, /^Enter a name for the device/);
  assert.match(e.public_key, /WireGuard public key/);
  assert.equal(await page.locator("#created-client").count(), 0);
  await shot(page, "forms-03-client-all-errors", false);
  await page.context().close();

  // Without JavaScript the form posts itself: both fields empty.
  const plain = await newPage({ javaScriptEnabled: false });
  await login(plain, "finance-admin@example.com");
  await plain.goto(`${BASE}/t/finance/clients`);
  await submitBad(plain, "Create client");
  const p = await errorsAt(plain, ["name", "public_key"]);
  assert.match(p.name, /^Enter a name for the device/);
  assert.match(p.public_key, /paste the public key/);
  await plain.context().close();
});

test("the network form shows every missing field and bad value at once", async () => {
  const page = await newPage();
  await login(page, "finance-admin@example.com");
  await hydrated(page);
  await page.getByLabel("Subnet (CIDR)").fill("100.64.2.0/33");
  await submitBad(page, "Create network");
  const e = await errorsAt(page, ["name", "cidr"]);
  assert.match(e.name, /^Enter a name for the network/);
  assert.match(e.cidr, /IPv4 prefix/);
  assert.equal(await page.getByLabel("Subnet (CIDR)").inputValue(), "100.64.2.0/33");
  await hydrated(page);
  await page.locator("#network-form").scrollIntoViewIfNeeded();
  await shot(page, "forms-04-network-all-errors", false);
  await phone(page, "forms-04-network-all-errors");
  await page.context().close();
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
