// The services and policy page in a real browser: a tenant admin adds a
// rule after previewing what it does on the routers and hypervisors, waits
// for its job, moves it up and back down by its position field (keeping its
// number), disables it and deletes it; drags a rule with the mouse to the
// top and back (the same move form, previewed, then saved); a member only
// reads. Shares the demo database with the other
// files: it leaves three rules, as it found them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, problems, newPage, shot, login, hydrated } from "../lib.mjs";

/** The ids of the rules, in the order the page lists them. */
async function ruleOrder(page) {
  return page.locator("#rules tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.rule));
}

/** Waits until the tenant's job `id` is done (the dashboard's JSON list). */
async function jobDone(page, id) {
  let status = "";
  for (let i = 0; i < 100 && status !== "done" && status !== "failed"; i++) {
    const r = await page.request.get(`${BASE}/t/finance/jobs`);
    const job = (await r.json()).find((j) => j.id === id);
    status = job?.status ?? "";
    if (status !== "done") await page.waitForTimeout(200);
  }
  assert.equal(status, "done", `job ${id}`);
}

function jobOf(text) {
  const m = text.match(/job #(\d+)/);
  assert.ok(m, `no job in ${text}`);
  return Number(m[1]);
}

test("a tenant admin previews, adds, moves, disables and deletes a rule", async () => {
  const page = await newPage();
  await login(page, "finance-admin@example.com");
  await hydrated(page);
  await Promise.all([page.waitForURL(/\/t\/finance\/policy$/), page.getByRole("link", { name: /Services and policy rules/ }).click()]);
  await hydrated(page);
  await page.getByRole("heading", { name: "Services and policy" }).waitFor();
  assert.equal(await page.locator("#default-action").innerText(), "drop");
  const before = await ruleOrder(page);
  assert.ok(before.length >= 3, `rules: ${before}`);
  await shot(page, "policy-01-page");

  // The form suggests the next number; fill in a DNS rule and preview it.
  const id = await page.getByLabel("Rule number").inputValue();
  assert.equal(Number(id), Math.max(...before.map(Number)) + 1);
  await page.getByLabel("Description").fill("Allow DNS");
  await page.getByLabel("Action", { exact: true }).selectOption("accept");
  await page.getByLabel("Protocol").selectOption("udp");
  await page.getByLabel("Destination port").fill("53");
  await page.getByLabel("From", { exact: true }).selectOption("network:web");
  await page.getByLabel("To", { exact: true }).selectOption("cidr");
  await page.getByLabel("To CIDR").fill("100.64.1.16/28");
  await Promise.all([page.waitForURL(/\/policy\/preview#preview$/), page.getByRole("button", { name: "Preview", exact: true }).click()]);
  await hydrated(page);
  const preview = page.locator("#preview");
  await preview.waitFor();
  const vyos = await preview.locator('.device-diff[data-kind="router"] .add').allInnerTexts();
  assert.ok(vyos.some((l) => /set firewall .* 53\b|port '?53'?/.test(l) && l.includes("set firewall")), vyos.join("\n"));
  const ovs = await preview.locator('.device-diff[data-kind="hypervisor"] .add').allInnerTexts();
  assert.ok(ovs.some((l) => l.includes("tp_dst=53")), ovs.join("\n"));
  // Nothing saved yet; the form keeps what was typed.
  assert.deepEqual(await ruleOrder(page), before);
  assert.equal(await page.getByLabel("Destination port").inputValue(), "53");
  await preview.scrollIntoViewIfNeeded();
  await shot(page, "policy-02-preview");

  // Save it: the notice names the job, which the worker finishes.
  await Promise.all([page.waitForURL(/done=created/), page.getByRole("button", { name: "Add rule" }).click()]);
  await hydrated(page);
  const added = await page.locator("#policy-notice").innerText();
  assert.match(added, new RegExp(`Rule ${id} added`));
  await jobDone(page, jobOf(added));
  const row = () => page.locator("#rules tbody tr", { hasText: "Allow DNS" });
  assert.equal(await row().getAttribute("data-rule"), id);
  assert.match(await row().innerText(), /udp 53/);

  // Move it up: previewed first, then saved as one change.
  await Promise.all([page.waitForURL(/\/policy\/preview#preview$/), page.getByRole("button", { name: `Move rule ${id} up` }).click()]);
  await hydrated(page);
  assert.match(await page.locator("#preview-h").innerText(), new RegExp(`move rule ${id} above`));
  await shot(page, "policy-03-move-preview");
  await Promise.all([page.waitForURL(/done=moved/), page.getByRole("button", { name: "Save the new order" }).click()]);
  const moved = await ruleOrder(page);
  const idx = moved.indexOf(id);
  assert.equal(idx, before.length - 1, `order now ${moved}`);
  assert.equal(await row().getAttribute("data-rule"), id, "a move keeps the rule's number");
  assert.match(await page.locator("#policy-notice").innerText(), new RegExp(`Rule ${id} moved to position ${before.length}`));
  // The page lands on the moved rule.
  assert.equal(new URL(page.url()).hash, `#rule-${id}`);
  await jobDone(page, jobOf(await page.locator("#policy-notice").innerText()));

  // Back to the end by its position field (a move form names only the rule
  // and where it goes, so it reaches any position, on any page).
  const last = before[before.length - 1];
  const position = row().getByRole("spinbutton", { name: `New position of rule ${id} (1 to ${before.length + 1})` });
  assert.equal(await position.inputValue(), String(before.length));
  await position.fill(String(before.length + 1));
  await Promise.all([
    page.waitForURL(/\/policy\/preview#preview$/),
    row().getByRole("button", { name: `Move rule ${id} to that position` }).click(),
  ]);
  await hydrated(page);
  assert.match(await page.locator("#preview-h").innerText(), new RegExp(`move rule ${id} below rule ${last} \\(position ${before.length} → ${before.length + 1} of`));
  await Promise.all([page.waitForURL(/done=moved/), page.getByRole("button", { name: "Save the new order" }).click()]);
  const newId = await row().getAttribute("data-rule");
  assert.equal(newId, id, "back at the end, under the same number");
  assert.deepEqual(await ruleOrder(page), [...before, id]);
  await jobDone(page, jobOf(await page.locator("#policy-notice").innerText()));

  // Disable it: marked, still listed.
  await Promise.all([page.waitForURL(/done=disabled/), page.getByRole("button", { name: `Disable rule ${newId}` }).click()]);
  assert.match(await row().innerText(), /disabled/);
  await page.getByRole("button", { name: `Enable rule ${newId}` }).waitFor();

  // Delete it, after the preview (a disabled rule is on no device).
  await Promise.all([page.waitForURL(/\/policy\/preview#preview$/), page.getByRole("button", { name: `Delete rule ${newId}`, exact: true }).click()]);
  await page.locator("#preview").waitFor();
  assert.match(await page.locator("#preview").innerText(), /No device configuration would change/);
  await Promise.all([page.waitForURL(/done=deleted/), page.locator("#confirm-change").click()]);
  assert.equal(await row().count(), 0);
  assert.equal((await ruleOrder(page)).length, before.length);
  await hydrated(page);

  // Readable on a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, "policy-04-phone");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page scrolls sideways on a phone by ${overflow}px`);
  await page.context().close();
});

/** Drags rule `rule`'s handle with the mouse onto rule `onto`'s row; `check` runs before the release. */
async function dragRule(page, rule, onto, check) {
  const handle = page.getByRole("button", { name: `Drag rule ${rule} to another position (or press to type it)` });
  await handle.waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  const from = await handle.boundingBox();
  const to = await page.locator(`#rules tr[data-rule="${onto}"]`).boundingBox();
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(to.x + to.width / 2, to.y + to.height / 2, { steps: 10 });
  await check();
  await Promise.all([page.waitForURL(/\/policy\/preview#preview$/), page.mouse.up()]);
  await hydrated(page);
}

test("a tenant admin drags a rule to another position: the move is previewed, then saved under its number", async () => {
  const page = await newPage();
  await login(page, "finance-admin@example.com");
  await page.goto(`${BASE}/t/finance/policy`);
  await hydrated(page);
  const before = await ruleOrder(page);
  const n = before.length;
  assert.ok(n >= 3, `rules: ${before}`);
  const [first, last] = [before[0], before[n - 1]];
  const target = page.locator(`#rules tr[data-rule="${first}"]`);

  // The last rule onto the first: the first row shows the line above it.
  await dragRule(page, last, first, async () => {
    assert.match(await target.getAttribute("class"), /\bdrop-before\b/);
    assert.match(await page.locator(`#rules tr[data-rule="${last}"]`).getAttribute("class"), /\bdragging\b/);
    const line = await target.locator("td").first().evaluate((e) => getComputedStyle(e).boxShadow);
    assert.match(line, /inset/, `drop line: ${line}`);
    assert.equal(await page.locator("#drag-status").innerText(),
      `Rule ${last} would go to position 1, above rule ${first}: release to preview the move.`);
    await shot(page, "policy-05-drag", false);
  });
  // The move form's own preview: nothing moved yet.
  assert.match(await page.locator("#preview-h").innerText(),
    new RegExp(`move rule ${last} above rule ${first} \\(position ${n} → 1 of ${n}\\)`));
  assert.match(await page.locator("#preview-summary").innerText(), /\S/);
  assert.deepEqual(await ruleOrder(page), before);
  await shot(page, "policy-06-drag-preview");
  await Promise.all([page.waitForURL(/done=moved/), page.getByRole("button", { name: "Save the new order" }).click()]);
  await hydrated(page);
  assert.deepEqual(await ruleOrder(page), [last, ...before.slice(0, -1)]);
  const row = page.locator("#rules tbody tr").first();
  assert.equal(await row.getAttribute("data-rule"), last, "the rule is first, under its number");
  assert.equal(await row.locator(".rule-id").innerText(), last);
  assert.equal(await row.getAttribute("data-position"), "1");
  assert.match(await page.locator("#policy-notice").innerText(), new RegExp(`Rule ${last} moved to position 1`));
  await jobDone(page, jobOf(await page.locator("#policy-notice").innerText()));

  // Back down to the end: now the line is below the target row.
  const end = page.locator(`#rules tr[data-rule="${before[n - 2]}"]`);
  await dragRule(page, last, before[n - 2], async () => {
    assert.match(await end.getAttribute("class"), /\bdrop-after\b/);
  });
  assert.match(await page.locator("#preview-h").innerText(),
    new RegExp(`move rule ${last} below rule ${before[n - 2]} \\(position 1 → ${n} of ${n}\\)`));
  await Promise.all([page.waitForURL(/done=moved/), page.getByRole("button", { name: "Save the new order" }).click()]);
  assert.deepEqual(await ruleOrder(page), before, "as it was, every number unchanged");
  await hydrated(page);
  await jobDone(page, jobOf(await page.locator("#policy-notice").innerText()));

  // Escape cancels a drag: no request, no mark left.
  const handle = page.getByRole("button", { name: `Drag rule ${first} to another position (or press to type it)` });
  await page.evaluate(() => window.scrollTo(0, 0));
  const hb = await handle.boundingBox();
  const lb = await page.locator(`#rules tr[data-rule="${last}"]`).boundingBox();
  await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
  await page.mouse.down();
  await page.mouse.move(lb.x + lb.width / 2, lb.y + lb.height / 2, { steps: 5 });
  assert.equal(await page.locator("#rules .drop-after").getAttribute("data-rule"), last);
  await page.keyboard.press("Escape");
  await page.mouse.up();
  assert.equal(await page.locator("#rules .drop-before, #rules .drop-after, #rules .dragging").count(), 0);
  assert.equal(await page.locator("#drag-status").innerText(), "Move cancelled.");
  assert.match(page.url(), /done=moved/);

  // Pressing a handle (no drag) goes to its rule's position field.
  await handle.click();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")),
    `New position of rule ${first} (1 to ${n})`);

  // On a phone the rows are cards; the handle is there and the drop line shows.
  await page.setViewportSize({ width: 390, height: 844 });
  const second = page.locator(`#rules tr[data-rule="${before[1]}"]`);
  await target.evaluate((e) => e.scrollIntoView({ block: "center" }));
  const pb = await handle.boundingBox();
  const tb = await second.boundingBox();
  assert.ok(tb.y + tb.height / 2 < 844, `second rule at ${tb.y}`);
  await page.mouse.move(pb.x + pb.width / 2, pb.y + pb.height / 2);
  await page.mouse.down();
  await page.mouse.move(tb.x + tb.width / 2, tb.y + tb.height / 2, { steps: 5 });
  assert.match(await second.getAttribute("class"), /\bdrop-after\b/);
  await shot(page, "policy-07-drag-phone", false);
  await page.keyboard.press("Escape");
  await page.mouse.up();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page scrolls sideways on a phone by ${overflow}px`);
  await page.context().close();
});

test("without JavaScript there are no drag handles: the move forms do it", async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await login(page, "finance-admin@example.com");
  await page.goto(`${BASE}/t/finance/policy`);
  await page.locator('#rules tr[data-rule="1"]').waitFor();
  assert.equal(await page.locator("#rules .drag-handle").first().isVisible(), false);
  assert.equal(await page.locator("#drag-help").isVisible(), false);
  assert.ok(await page.locator("#rules form.move-to").first().isVisible());
  await page.context().close();
});

test("the preview works without JavaScript and the keyboard reaches it", async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await login(page, "finance-admin@example.com");
  await page.goto(`${BASE}/t/finance/policy?edit=1`);
  await page.getByRole("heading", { name: "Edit rule 1" }).waitFor();
  await page.getByLabel("Destination port").fill("8443");
  // Tab from the last field to the Preview button, then press it.
  await page.getByLabel(/^Disabled/).focus();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "preview-button");
  await Promise.all([page.waitForURL(/\/policy\/preview#preview$/), page.keyboard.press("Enter")]);
  // The page opens at the preview, its summary first.
  const top = await page.locator("#preview").evaluate((e) => e.getBoundingClientRect().top);
  assert.ok(top >= 0 && top < 200, `preview at ${top}px`);
  assert.match(await page.locator("#preview-summary").innerText(), /^Changes 1 firewall rule .*on \d+ routers?; .*flows? .*on \d+ hypervisors?\.$/);
  const lines = await page.locator('#preview .add').allInnerTexts();
  assert.ok(lines.some((l) => l.includes("8443")), lines.join("\n"));
  // Previewing wrote nothing.
  await page.goto(`${BASE}/t/finance/policy`);
  assert.doesNotMatch(await page.locator('tr[data-rule="1"]').innerText(), /8443/);
  await page.context().close();
});

test("a tenant member reads the policy but gets no forms", async () => {
  const page = await newPage();
  await login(page, "finance-member@example.com");
  await page.goto(`${BASE}/t/finance/policy`);
  await hydrated(page);
  await page.locator('tr[data-rule="1"]').waitFor();
  assert.equal(await page.locator("#rule-edit-form").count(), 0);
  assert.equal(await page.getByRole("button", { name: /^Move rule/ }).count(), 0);
  assert.equal(await page.locator("#rules .drag-handle").count(), 0);
  assert.equal(await page.locator("#rules[data-drag]").count(), 0);
  await page.context().close();
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
