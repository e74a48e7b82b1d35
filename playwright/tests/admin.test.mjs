// The admin console and a tenant's members, API tokens and audit log in a
// real browser. Runs on the shared demo database (see portal.test.mjs):
// it adds the tenant "lab" with its admin and a network, and a revoked
// API token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, PASSWORD, problems, newPage, shot, login, hydrated } from "../lib.mjs";

/** Their own password, chosen at the first login of accounts an admin made. */
const OWN = "a password of their very own";

/** The first login of an account an admin made: the password page first
 * (nothing else is open), then where the role starts. */
async function firstLogin(page, email) {
  await login(page, email);
  await page.waitForURL(/\/account\/password\?first=1$/);
  await page.locator("#password-required").waitFor();
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password", { exact: true }).fill(OWN);
  await page.getByLabel("New password again").fill(OWN);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith("/account")),
    page.getByRole("button", { name: "Change password" }).click(),
  ]);
}

/** Fails when the page scrolls sideways at phone width (390 px). */
async function fitsPhone(page, name) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, `${name}-phone`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name} scrolls sideways on a phone by ${overflow}px`);
  await page.setViewportSize(size);
}

test("an admin creates a tenant and its first admin, who sees an empty dashboard", async () => {
  const page = await newPage();
  await login(page, "admin@example.com");
  assert.equal(new URL(page.url()).pathname, "/admin");
  await hydrated(page);
  await page.getByRole("navigation", { name: "Admin console" }).waitFor();
  // A mistake first: the errors sit next to their fields, nothing is created.
  await page.getByLabel("Slug").fill("Research Lab");
  await page.getByLabel("Name", { exact: true }).fill("Research Lab");
  await page.getByLabel("Admin email").fill("lab-admin@example.com");
  await page.getByLabel("Initial password").fill("short");
  const [bad] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST"),
    page.getByRole("button", { name: "Create tenant and admin" }).click(),
  ]);
  assert.equal(bad.status(), 422);
  await page.locator("#slug-error").waitFor();
  assert.equal(await page.locator("#slug").getAttribute("aria-invalid"), "true");
  assert.match(await page.locator("#admin_password-error").innerText(), /12/);
  assert.equal(await page.locator("#admin_password").inputValue(), "");
  await hydrated(page);
  await page.locator("#tenant-form").scrollIntoViewIfNeeded();
  await shot(page, "20-admin-tenant-errors");

  await page.getByLabel("Slug").fill("lab");
  await page.getByLabel("Traffic no rule matches").selectOption("reject");
  await page.getByLabel("Initial password").fill(PASSWORD);
  await Promise.all([page.waitForURL(/created=lab/), page.getByRole("button", { name: "Create tenant and admin" }).click()]);
  assert.match(await page.getByRole("status").innerText(), /Tenant lab created with its admin lab-admin@example\.com/);
  const row = page.locator('#tenants tr[data-key="lab"]');
  assert.match(await row.innerText(), /Research Lab/);
  assert.match(await row.innerText(), /reject/);
  await hydrated(page);
  await shot(page, "21-admin-tenants");
  await fitsPhone(page, "21-admin-tenants");
  await page.context().close();

  const lab = await newPage();
  await firstLogin(lab, "lab-admin@example.com");
  assert.equal(new URL(lab.url()).pathname, "/t/lab");
  await hydrated(lab);
  await lab.getByRole("heading", { name: "Research Lab" }).waitFor();
  for (const empty of ["No networks yet.", "No services yet.", "No clients yet."])
    assert.equal(await lab.getByText(empty, { exact: true }).count(), 1, empty);
  // Its one job so far compiled its creation.
  assert.match(await lab.locator("#jobs").innerText(), /tenant\.create/);
  const nav = lab.getByRole("navigation", { name: "Tenant" });
  assert.equal(await nav.getByRole("link", { name: "Dashboard" }).getAttribute("aria-current"), "page");
  await shot(lab, "22-new-tenant-dashboard");
  // Its members page lists the admin.
  await Promise.all([lab.waitForURL(/\/t\/lab\/members$/), nav.getByRole("link", { name: "Members" }).click()]);
  assert.match(await lab.locator('#members tr[data-key="lab-admin@example.com"]').innerText(), /tenant admin/);
  await lab.context().close();
});

test("a tenant admin adds a member and removes them after confirming", async () => {
  const page = await newPage();
  await login(page, "lab-admin@example.com", OWN);
  await page.goto(`${BASE}/t/lab/members`);
  await hydrated(page);
  await page.getByLabel("Email").fill("lab-member@example.com");
  await page.getByLabel("Role").selectOption("tenant_member");
  await page.getByLabel("Initial password").fill(PASSWORD);
  await Promise.all([page.waitForURL(/added=/), page.getByRole("button", { name: "Add member" }).click()]);
  assert.match(await page.getByRole("status").innerText(), /lab-member@example\.com was added/);
  await page.locator('#members tr[data-key="lab-member@example.com"]').waitFor();
  // Nobody is offered to remove themselves.
  assert.equal(await page.getByRole("link", { name: "Remove lab-admin@example.com" }).count(), 0);
  await hydrated(page);
  await shot(page, "23-members");
  await fitsPhone(page, "23-members");
  // The member logs in: read-only list, no token page.
  const m = await newPage();
  await firstLogin(m, "lab-member@example.com");
  await m.goto(`${BASE}/t/lab/members`);
  assert.equal(await m.locator("#member-form").count(), 0);
  assert.equal(await m.getByRole("link", { name: "API tokens" }).count(), 0);
  const r = await m.goto(`${BASE}/t/lab/tokens`);
  assert.equal(r.status(), 403);
  await m.context().close();

  await Promise.all([page.waitForURL(/\/remove$/), page.getByRole("link", { name: "Remove lab-member@example.com" }).click()]);
  await page.getByRole("heading", { name: "Remove lab-member@example.com?" }).waitFor();
  await hydrated(page);
  await shot(page, "24-member-remove");
  await Promise.all([page.waitForURL(/removed=/), page.getByRole("button", { name: "Remove the member" }).click()]);
  assert.equal(await page.locator('#members tr[data-key="lab-member@example.com"]').count(), 0);
  await page.context().close();
});

test("a tenant admin creates an API token, sees its secret once, and revokes it", async () => {
  const page = await newPage();
  await login(page, "lab-admin@example.com", OWN);
  await hydrated(page);
  await Promise.all([page.waitForURL(/\/t\/lab\/tokens$/), page.getByRole("link", { name: "API tokens" }).click()]);
  assert.equal(await page.getByText("No API tokens yet: create one for a script or CI job.").count(), 1);
  await hydrated(page);
  await shot(page, "25-tokens-empty");
  await page.getByLabel("Name", { exact: true }).fill("ci-deploy");
  await page.getByLabel("Role").selectOption("tenant_member");
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST"),
    page.getByRole("button", { name: "Create token" }).click(),
  ]);
  assert.equal(resp.status(), 201);
  const secret = await page.getByLabel("Secret").inputValue();
  assert.match(secret, /^vxa_/);
  await hydrated(page);
  await shot(page, "26-token-created");
  // The secret is a working API token.
  let api = await fetch(`${BASE}/api/v1/tenants/lab/networks`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(api.status, 200);
  // Shown once: the page again has no trace of it.
  await page.goto(`${BASE}/t/lab/tokens`);
  await page.locator('#tokens tr[data-key="ci-deploy"]').waitFor();
  assert.equal(await page.locator("#token-secret").count(), 0);
  assert.ok(!(await page.content()).includes(secret));
  await hydrated(page);
  await Promise.all([page.waitForURL(/revoked=ci-deploy/), page.getByRole("button", { name: "Revoke token ci-deploy" }).click()]);
  assert.match(await page.getByRole("status").innerText(), /Token ci-deploy was revoked/);
  assert.match(await page.locator('#tokens tr[data-key="ci-deploy"]').innerText(), /revoked/);
  await hydrated(page);
  await shot(page, "27-token-revoked");
  await fitsPhone(page, "27-token-revoked");
  api = await fetch(`${BASE}/api/v1/tenants/lab/networks`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(api.status, 401);
  // The tenant's audit log, newest first, has all of it.
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.waitForURL(/\/t\/lab\/audit$/);
  const actions = await page.locator("#audit tbody th").allInnerTexts();
  assert.deepEqual(actions.slice(0, 2), ["token.revoke", "token.create"]);
  assert.ok(actions.includes("tenant.create") && actions.includes("user.delete"), actions.join(","));
  await hydrated(page);
  await shot(page, "28-tenant-audit");
  await fitsPhone(page, "28-tenant-audit");
  await page.context().close();
});

test("an admin opens a router's revisions and sees the diff", async () => {
  // The lab's first network changes vyos-dc2-01's configuration.
  const lab = await newPage();
  await login(lab, "lab-admin@example.com", OWN);
  await hydrated(lab);
  await lab.getByLabel("Name", { exact: true }).fill("lab-net");
  await lab.getByLabel("Subnet (CIDR)").fill("100.65.10.0/28");
  await lab.getByLabel(/vyos-dc2-01/).check();
  await Promise.all([lab.waitForURL(/created=lab-net/), lab.getByRole("button", { name: "Create network" }).click()]);
  await lab.context().close();

  const page = await newPage();
  await login(page, "admin@example.com");
  // Wait for the job: the router's newest revision is its lab one.
  let seq = 0;
  for (let i = 0; i < 75 && seq < 2; i++) {
    await page.goto(`${BASE}/admin/devices/router/vyos-dc2-01`);
    seq = Number((await page.locator("#revisions tbody tr").first().getAttribute("data-key").catch(() => "0")) ?? 0);
    if (seq < 2) await page.waitForTimeout(200);
  }
  assert.ok(seq >= 2, `vyos-dc2-01 has revision ${seq}`);
  await page.goto(`${BASE}/admin/platform`);
  await hydrated(page);
  await page.locator('#routers tr[data-key="vyos-dc2-01"]').waitFor();
  await shot(page, "29-admin-platform");
  await fitsPhone(page, "29-admin-platform");
  await Promise.all([page.waitForURL(/\/admin\/devices\/router\/vyos-dc2-01$/), page.locator("#routers").getByRole("link", { name: "vyos-dc2-01", exact: true }).click()]);
  await hydrated(page);
  await shot(page, "30-admin-device");
  await Promise.all([page.waitForURL(new RegExp(`/vyos-dc2-01/${seq}$`)), page.getByRole("link", { name: `#${seq}`, exact: true }).click()]);
  await page.locator("#diff").waitFor();
  const added = await page.locator("#diff .add").allInnerTexts();
  assert.ok(added.some((l) => l.includes("100.65.10.")), added.join("\n"));
  assert.match(await page.locator("#diff-summary").innerText(), /\d+ removed, [1-9]\d* added/);
  assert.match(await page.locator("#config").innerText(), /^set /m);
  assert.ok(!/private-key '(?!<secret>)/.test(await page.locator("#config").innerText()), "keys are redacted");
  await hydrated(page);
  await shot(page, "31-admin-revision-diff");
  await fitsPhone(page, "31-admin-revision-diff");
  await page.context().close();
});

test("the console's other sections, by keyboard", async () => {
  const page = await newPage();
  await login(page, "admin@example.com");
  await hydrated(page);
  // Tab to the console's "Users" link and follow it with Enter.
  let reached = false;
  for (let i = 0; i < 30 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.textContent === "Users");
  }
  assert.ok(reached, "the Users link is reachable by keyboard");
  await Promise.all([page.waitForURL(/\/admin\/users$/), page.keyboard.press("Enter")]);
  assert.match(await page.locator('#users tr[data-key="lab-admin@example.com"]').innerText(), /lab[\s\S]*tenant admin/);
  await hydrated(page);
  await shot(page, "32-admin-users");
  await fitsPhone(page, "32-admin-users");
  await page.getByRole("link", { name: "Jobs" }).click();
  await page.waitForURL(/\/admin\/jobs$/);
  const first = page.locator("#admin-jobs tbody tr").first();
  assert.match(await first.innerText(), /lab/);
  await hydrated(page);
  await shot(page, "33-admin-jobs");
  await fitsPhone(page, "33-admin-jobs");
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.waitForURL(/\/admin\/audit$/);
  assert.ok((await page.locator("#audit tbody tr").count()) > 0);
  await hydrated(page);
  await shot(page, "34-admin-audit");
  await fitsPhone(page, "34-admin-audit");
  await page.context().close();
});

test("an admin resets a password: shown once, and the user chooses their own at once", async () => {
  const page = await newPage();
  await login(page, "admin@example.com");
  await page.goto(`${BASE}/admin/users?q=globex-member`);
  await hydrated(page);
  // Every row but the admin's own offers it.
  await Promise.all([
    page.waitForURL(/\/admin\/users\/[0-9a-f-]+\/reset$/),
    page.getByRole("link", { name: "Reset the password of globex-member@example.com" }).click(),
  ]);
  await page.getByRole("heading", { name: "Reset the password of globex-member@example.com?" }).waitFor();
  // The page head: the way back first, then the title and the tabs.
  assert.equal(await page.locator(".page-head > :first-child").innerText(), "← Users");
  await hydrated(page);
  await shot(page, "28-user-reset");
  await Promise.all([
    page.waitForURL(/\/reset$/),
    page.getByRole("button", { name: "Reset the password" }).click(),
  ]);
  const temporary = await page.getByLabel("Temporary password", { exact: true }).inputValue();
  assert.match(temporary, /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
  await shot(page, "29-user-reset-done");
  await fitsPhone(page, "29-user-reset-done");
  // Shown once: the list again does not show it.
  await page.goto(`${BASE}/admin/users?q=globex-member`);
  assert.ok(!(await page.content()).includes(temporary));
  // The demo password no longer works; the temporary one leads to the
  // forced change first, then the dashboard.
  const m = await newPage();
  await m.goto(`${BASE}/login`);
  await m.getByLabel("Email").fill("globex-member@example.com");
  await m.getByLabel("Password").fill(PASSWORD);
  await m.getByRole("button", { name: "Log in" }).click();
  await m.locator("#login-error").waitFor();
  await login(m, "globex-member@example.com", temporary);
  await m.waitForURL(/\/account\/password\?first=1$/);
  await m.getByLabel("Current password").fill(temporary);
  await m.getByLabel("New password", { exact: true }).fill(OWN);
  await m.getByLabel("New password again").fill(OWN);
  await Promise.all([
    m.waitForURL((u) => u.pathname === "/t/globex"),
    m.getByRole("button", { name: "Change password" }).click(),
  ]);
  await m.context().close();
  // The audit log says who reset it, never the password.
  await page.goto(`${BASE}/admin/audit?action=user`);
  const log = await page.locator("#audit").innerText();
  assert.match(log, /user\.password_reset/);
  assert.ok(!(await page.content()).includes(temporary));
  await page.context().close();
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
