// All of a form's errors at once (issue 19, item 6): the portal's forms
// carry `novalidate`, so the browser's "Please fill out this field" no
// longer stops a user at the first empty field; the server answers with
// every missing field and every bad value, each at its field. Checked on
// the new-tenant form, the rule form, the client form and the network
// form, the login, change-password, member and API-token forms, at desktop
// and phone width. Creates nothing.
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

test("the network form says a taken name and a missing gateway with the other errors", async () => {
  const page = await newPage();
  await login(page, "finance-admin@example.com");
  await hydrated(page);
  // "web" is the demo's: taken; no gateway ticked; a bad subnet.
  await page.getByLabel("Name", { exact: true }).fill("web");
  await page.getByLabel("Subnet (CIDR)").fill("100.64.2.0/33");
  for (const box of await page.locator("#network-form input[name=gateway]:checked").all()) await box.uncheck();
  await submitBad(page, "Create network");
  const e = await errorsAt(page, ["name", "cidr"]);
  assert.match(e.name, /A network named web already exists/);
  assert.match(await page.locator("#gateways-error").innerText(), /Choose at least one gateway router/);
  await page.locator("#network-form").scrollIntoViewIfNeeded();
  await shot(page, "forms-05-network-taken-and-gateways", false);
  await page.context().close();
});

test("the login form asks for each empty field at once, before the server tries anything", async () => {
  const page = await newPage();
  await page.goto(`${BASE}/login`);
  assert.equal(await page.locator("#login-form").getAttribute("novalidate"), "");
  await submitBad(page, "Log in");
  const e = await errorsAt(page, ["email", "password"]);
  assert.match(e.email, /^Enter the email address you log in with/);
  assert.match(e.password, /^Enter your password/);
  assert.equal(await page.locator("#login-error").count(), 0, "no wrong-password message: nothing was tried");
  await shot(page, "forms-06-login-empty", false);
  await phone(page, "forms-06-login-empty");
  // The email filled in: kept, and only the password asked for.
  await page.getByLabel("Email").fill("finance-admin@example.com");
  await submitBad(page, "Log in");
  await errorsAt(page, ["password"]);
  assert.equal(await page.locator("#email-error").count(), 0);
  assert.equal(await page.getByLabel("Email").inputValue(), "finance-admin@example.com");
  // The password field has the focus (the one to fix).
  assert.equal(await page.evaluate(() => document.activeElement?.id), "password");
  await page.context().close();
});

test("the change-password form asks for each empty field with the others' errors", async () => {
  const page = await newPage();
  await login(page, "finance-member@example.com");
  await page.goto(`${BASE}/account/password`);
  await hydrated(page);
  assert.equal(await page.locator("#password-form").getAttribute("novalidate"), "");
  await page.getByLabel("New password", { exact: true }).fill("short");
  await submitBad(page, "Change password");
  const e = await errorsAt(page, ["current_password", "new_password", "confirm_password"]);
  assert.match(e.current_password, /^Enter the password you logged in with/);
  assert.match(e.new_password, /12 characters/);
  assert.match(e.confirm_password, /^Enter the new password again/);
  await shot(page, "forms-07-password-all-errors", false);
  await phone(page, "forms-07-password-all-errors");
  await page.context().close();
});

test("the member and API-token forms show every missing field and bad value at once", async () => {
  const page = await newPage();
  await login(page, "finance-admin@example.com");
  await page.goto(`${BASE}/t/finance/members`);
  await hydrated(page);
  const before = await page.locator("#members tbody tr").count();
  assert.equal(await page.locator("#member-form").getAttribute("novalidate"), "");
  // An email of the tenant's (taken) and a short password: both said.
  await page.locator("#member-form #email").fill("finance-member@example.com");
  await page.getByLabel("Initial password").fill("short");
  await submitBad(page, "Add member");
  let e = await errorsAt(page, ["email", "password"]);
  assert.match(e.email, /a user with this email exists/);
  assert.match(e.password, /12 characters/);
  // Both left empty: both asked for.
  await page.locator("#member-form #email").fill("");
  await submitBad(page, "Add member");
  e = await errorsAt(page, ["email", "password"]);
  assert.match(e.email, /^Enter the email address they will log in with/);
  assert.match(e.password, /^Enter an initial password of at least 12 characters/);
  assert.equal(await page.locator("#members tbody tr").count(), before, "nobody added");
  await page.locator("#member-form").scrollIntoViewIfNeeded();
  await shot(page, "forms-08-member-all-errors", false);
  await phone(page, "forms-08-member-all-errors");

  await page.goto(`${BASE}/t/finance/tokens`);
  await hydrated(page);
  assert.equal(await page.locator("#token-form").getAttribute("novalidate"), "");
  await submitBad(page, "Create token");
  const t = await errorsAt(page, ["name"]);
  assert.match(t.name, /^Enter a name for the token/);
  assert.equal(await page.locator("#token-secret").count(), 0, "no token made");
  await shot(page, "forms-09-token-empty", false);
  await page.context().close();
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
