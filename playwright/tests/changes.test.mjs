// Changes a tenant can follow and lists an operator can work with (issue 19,
// items 3 and 4) in a real browser: a failed change on its network's row,
// its job page with the Retry button, the retry; the tenant's changes and
// the console's jobs, audit log and devices filtered by plain GET forms
// (with JavaScript and without), job states that look different, audit
// actions that never break mid-word, at desktop and phone width.
// The demo's server applies nothing, so the failure is written into the
// database (psql with scripts/portal-e2e's DATABASE_URL), as the worker
// leaves a job whose apply failed every attempt. Screenshots: changes-*.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { BASE, PASSWORD, problems, newPage, shot, login, hydrated } from "../lib.mjs";

const PHONE = { width: 390, height: 844 };

function sql(statement) {
  const url = process.env.DATABASE_URL;
  assert.ok(url, "DATABASE_URL is set (scripts/portal-e2e exports it)");
  return execFileSync("psql", [url, "-qAtc", statement], { encoding: "utf8" }).trim();
}

async function api(path, token, init = {}) {
  const r = await fetch(`${BASE}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers ?? {}) },
  });
  return { status: r.status, headers: r.headers, body: await r.json().catch(() => null) };
}

async function token(email) {
  const r = await fetch(`${BASE}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).access_token;
}

async function noSidewaysScroll(page, name) {
  const size = page.viewportSize();
  await page.setViewportSize(PHONE);
  await shot(page, `${name}-phone`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name} scrolls sideways on a phone by ${overflow}px`);
  await page.setViewportSize(size);
}

/** A network of finance whose job compiled, then failed as an apply does. */
async function failedNetwork(name, cidr) {
  const t = await token("finance-admin@example.com");
  const r = await api("/api/v1/tenants/finance/networks", t, {
    method: "POST",
    body: JSON.stringify({ name, cidr, sites: [{ site: "dc1", gateways: ["vyos-dc1-01"] }] }),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const job = Number(r.headers.get("x-job"));
  for (let i = 0; i < 100; i++) {
    const j = await api(`/api/v1/jobs/${job}`, t);
    if (j.body.status === "done") break;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  sql(`UPDATE jobs SET status = 'failed', finished_at = now(),
       errors = '[{"message": "applying failed on router vyos-dc1-01; the platform''s operators can see why"}]'
       WHERE id = ${job}`);
  return job;
}

test("a failed change shows on its network, and its admin retries it from the job page", async () => {
  const job = await failedNetwork("pwfail", "100.64.9.0/28");
  const page = await newPage();
  await login(page, "finance-admin@example.com");
  await hydrated(page);
  const row = page.locator('tr[data-network="pwfail"]');
  assert.match(await row.locator(".last-failed").innerText(), /last change failed: applying failed on router vyos-dc1-01/);
  await shot(page, "changes-01-dashboard-failed");
  await noSidewaysScroll(page, "changes-01-dashboard-failed");

  await Promise.all([page.waitForURL(new RegExp(`/t/finance/jobs/${job}$`)), row.getByRole("link", { name: `job #${job}` }).click()]);
  await hydrated(page);
  assert.match(await page.locator("#job-facts").innerText(), /failed/);
  assert.match(await page.locator("#job-errors").innerText(), /applying failed on router vyos-dc1-01/);
  const retry = page.getByRole("button", { name: "Retry this change" });
  await retry.waitFor();
  await shot(page, "changes-02-job-failed");
  await noSidewaysScroll(page, "changes-02-job-failed");

  await Promise.all([page.waitForURL(/\/t\/finance\/jobs\/\d+\?retried=1$/), retry.click()]);
  const again = Number(new URL(page.url()).pathname.split("/").pop());
  assert.ok(again > job);
  assert.match(await page.locator(".notice").innerText(), new RegExp(`retries job #${job}`));
  assert.equal(await page.locator(`a[href="/t/finance/jobs/${job}"]`).first().count(), 1);
  await hydrated(page);
  await shot(page, "changes-03-retried");

  // The old job's page now says why it may not be retried again.
  await page.goto(`${BASE}/t/finance/jobs/${job}`);
  assert.equal(await page.getByRole("button", { name: "Retry this change" }).count(), 0);
  assert.match(await page.locator("#retry-hint").innerText(), new RegExp(`job #${again} came after it`));
  await page.context().close();

  // A member sees the job, and no button.
  const member = await newPage();
  await login(member, "finance-member@example.com");
  await member.goto(`${BASE}/t/finance/jobs/${again}`);
  assert.equal(await member.getByRole("button", { name: "Retry this change" }).count(), 0);
  await member.context().close();
});

test("the tenant's changes are filtered by a plain GET form, with or without JavaScript", async () => {
  await failedNetwork("pwfail2", "100.64.10.0/28");
  for (const js of [true, false]) {
    const page = await newPage({ javaScriptEnabled: js });
    await login(page, "finance-member@example.com");
    await page.goto(`${BASE}/t/finance/changes`);
    if (js) await hydrated(page);
    await page.getByLabel("State").selectOption("failed");
    await page.getByLabel("Search").fill("pwfail2");
    await Promise.all([page.waitForURL(/\/t\/finance\/changes\?/), page.getByRole("button", { name: "Filter" }).click()]);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get("status"), "failed");
    assert.equal(url.searchParams.get("q"), "pwfail2");
    const rows = page.locator("#jobs-list tbody tr");
    assert.equal(await rows.count(), 1, await page.content());
    assert.match(await rows.first().innerText(), /failed[\s\S]*pwfail2/);
    assert.equal(await page.getByLabel("State").inputValue(), "failed");
    if (js) {
      await hydrated(page);
      await shot(page, "changes-04-tenant-filtered");
      await noSidewaysScroll(page, "changes-04-tenant-filtered");
    }
    await page.getByRole("link", { name: "Clear filters" }).click();
    await page.waitForURL(/\/t\/finance\/changes$/);
    assert.ok((await page.locator("#jobs-list tbody tr").count()) > 1);
    await page.context().close();
  }
});

test("the console's lists: jobs by state and tenant, the audit log with failed logins, devices", async () => {
  // A failed login to find.
  const bad = await newPage();
  await bad.goto(`${BASE}/login`);
  await bad.getByLabel("Email").fill("finance-admin@example.com");
  await bad.getByLabel("Password").fill("not-the-password-at-all");
  await bad.getByRole("button", { name: "Log in" }).click();
  await bad.waitForLoadState();
  await bad.context().close();

  const page = await newPage();
  await login(page, "admin@example.com");
  await page.goto(`${BASE}/admin/jobs?status=failed&tenant=finance`);
  await hydrated(page);
  const states = await page.locator("#admin-jobs tbody td[data-label=State]").allInnerTexts();
  assert.ok(states.length > 0);
  assert.ok(states.every((s) => /failed/.test(s)), states.join(","));
  // Every job number is a link to its page.
  const ids = page.locator("#admin-jobs tbody th a");
  assert.match(await ids.first().getAttribute("href"), /^\/admin\/jobs\/\d+$/);
  await shot(page, "changes-05-admin-jobs");
  await noSidewaysScroll(page, "changes-05-admin-jobs");

  // "queued" and "running" look different (not only by their word).
  const look = await page.evaluate(() => {
    const probe = (cls) => {
      const s = document.createElement("span");
      s.className = `badge ${cls}`;
      document.body.append(s);
      const c = getComputedStyle(s);
      const b = getComputedStyle(s, "::before").content;
      const out = `${c.backgroundColor}|${c.color}|${c.borderStyle}|${c.borderColor}|${b}`;
      s.remove();
      return out;
    };
    return { queued: probe("queued"), running: probe("running"), done: probe("done") };
  });
  assert.notEqual(look.queued, look.running);
  assert.notEqual(look.queued, look.done);

  await page.goto(`${BASE}/admin/audit?action=login.failed`);
  await hydrated(page);
  const actions = await page.locator("#audit tbody th").allInnerTexts();
  assert.ok(actions.length > 0 && actions.every((a) => a === "login.failed"), actions.join(","));
  assert.ok(!(await page.content()).includes("not-the-password-at-all"));
  await shot(page, "changes-06-admin-audit-failed-logins");
  await noSidewaysScroll(page, "changes-06-admin-audit-failed-logins");

  // The whole log at phone width: no action breaks inside its word.
  await page.goto(`${BASE}/admin/audit`);
  await page.setViewportSize(PHONE);
  const broken = await page.evaluate(() =>
    [...document.querySelectorAll("#audit code.token")]
      .filter((c) => c.getClientRects().length > 1 || c.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(c).lineHeight || "20"))
      .map((c) => c.textContent),
  );
  assert.deepEqual(broken, []);
  // Entries of changes link their job; their before and after open.
  const withJob = page.locator("#audit tbody tr", { has: page.locator("td[data-label=Job] a") }).first();
  await withJob.locator("summary").first().click();
  await shot(page, "changes-07-admin-audit-phone");
  await page.setViewportSize({ width: 1280, height: 900 });
  await shot(page, "changes-07-admin-audit");
  // At desktop width, who did it is a table cell whose pieces ("user:",
  // the local part, "@domain") never break inside.
  const who = await page.evaluate(() =>
    [...document.querySelectorAll("#audit td.actor")].map((td) => {
      const split = [...td.querySelectorAll(".whole")]
        .filter((n) => new Set([...n.getClientRects()].map((x) => Math.round(x.top))).size > 1)
        .map((n) => n.textContent);
      return { display: getComputedStyle(td).display, pieces: td.querySelectorAll(".whole").length, split };
    }),
  );
  assert.ok(who.length > 0);
  assert.ok(who.some((w) => w.pieces === 3), JSON.stringify(who[0]));
  assert.ok(who.every((w) => w.display === "table-cell"), JSON.stringify(who[0]));
  assert.deepEqual(who.flatMap((w) => w.split), []);

  // A job's page: each device's revision opens its diff for the job.
  await page.goto(`${BASE}/admin/jobs?status=failed&tenant=finance`);
  await page.locator("#admin-jobs tbody th a").first().click();
  await page.waitForURL(/\/admin\/jobs\/\d+$/);
  const rev = page.locator("#job-devices tbody td[data-label=Revision] a").first();
  const href = await rev.getAttribute("href");
  assert.match(href, /^\/admin\/devices\/(router|hypervisor)\/[^/]+\/\d+$/);
  await Promise.all([page.waitForURL((u) => u.pathname === href), rev.click()]);
  assert.equal((await page.goto(`${BASE}${href}`)).status(), 200);

  await page.goto(`${BASE}/admin/devices?kind=router`);
  await hydrated(page);
  const names = page.locator("#devices tbody th a");
  assert.ok((await names.count()) >= 4);
  assert.match(await names.first().getAttribute("href"), /^\/admin\/devices\/router\//);
  assert.equal(await page.locator('#devices tbody tr[data-key^="hypervisor/"]').count(), 0);
  await shot(page, "changes-08-admin-devices");
  await noSidewaysScroll(page, "changes-08-admin-devices");
  await page.context().close();
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
