// WireGuard clients in a real browser: the key pair is made in the page,
// only the public key goes to the server, and the wg-quick file is built
// and offered (download and QR code) in the browser. The downloaded file
// is checked with wireguard-tools (`wg`, `wg-quick`), the QR code decoded
// with zbar-tools (`zbarimg`), and the private key is searched for in every request the page sent and in a dump of the
// server's database (scripts/portal-e2e exports DATABASE_URL).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASE, PASSWORD, problems, newPage, shot, login, hydrated } from "../lib.mjs";

/** A bearer token for the API, to read what the server stored. */
async function apiToken(email) {
  const r = await fetch(`${BASE}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).access_token;
}

async function storedClient(token, name) {
  const r = await fetch(`${BASE}/api/v1/tenants/finance/clients/${name}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: r.status === 200 ? await r.json() : null };
}

function databaseDump() {
  assert.ok(process.env.DATABASE_URL, "scripts/portal-e2e exports DATABASE_URL");
  return execFileSync("pg_dump", ["--data-only", `--dbname=${process.env.DATABASE_URL}`], { encoding: "utf8", maxBuffer: 256 << 20 });
}

test("a tenant admin creates a client whose private key never leaves the browser", async () => {
  const page = await newPage();
  // Everything the page sends from here on.
  const sent = [];
  page.on("request", (r) => sent.push({ url: r.url(), headers: JSON.stringify(r.headers()), body: r.postData() ?? "" }));
  await login(page, "finance-admin@example.com");
  await hydrated(page);
  await Promise.all([page.waitForURL(/\/t\/finance\/clients$/), page.getByRole("link", { name: "Manage clients" }).click()]);
  await hydrated(page);
  await page.locator('tr[data-client="cfo-laptop"]').waitFor();
  // Once hydrated, the public key is optional: the browser makes the pair.
  assert.equal(await page.locator("#public_key").getAttribute("required"), null);
  assert.match(await page.locator("#public_key-hint").innerText(), /this browser generates the key pair/);
  await shot(page, "20-clients");

  await page.getByLabel("Name", { exact: true }).fill("phone");
  await page.getByLabel("web", { exact: true }).check();
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/t/finance/clients")),
    page.getByRole("button", { name: "Create client" }).click(),
  ]);
  assert.equal(resp.status(), 201);
  await page.locator("#created-client").waitFor();
  // Still the same document: created by the script, not a form navigation.
  assert.equal(new URL(page.url()).pathname, "/t/finance/clients");
  assert.match(await page.locator("#private-key-warning").innerText(), /vxguard keeps no copy/);
  // The keyboard focus moved to the result.
  await page.waitForFunction(() => document.activeElement?.id === "created-client", null, { timeout: 5_000 });
  await page.locator('tr[data-client="phone"]').waitFor();

  // The QR code is an image the browser drew from the file.
  const qr = page.locator("#client-qr");
  await qr.waitFor();
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), "the QR code image loads");
  assert.match(await qr.getAttribute("src"), /^data:image\/svg\+xml;base64,/);

  // The download is the file shown.
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download-config").click()]);
  assert.equal(download.suggestedFilename(), "phone.conf");
  const conf = readFileSync(await download.path(), "utf8");
  assert.equal(conf, await page.locator("#client-config").innerText());
  // The QR code holds the same file (decoded from what the page shows).
  const qrDir = mkdtempSync(join(tmpdir(), "vxg-qr-"));
  try {
    const png = join(qrDir, "qr.png");
    await qr.screenshot({ path: png });
    const decoded = execFileSync("zbarimg", ["--raw", "-q", png], { encoding: "utf8" });
    assert.equal(decoded.replace(/\n$/, ""), conf); // zbarimg ends what it prints with a newline
  } finally {
    rmSync(qrDir, { recursive: true, force: true });
  }
  const privateKey = conf.match(/^PrivateKey = (\S+)$/m)?.[1];
  assert.ok(privateKey && privateKey.length === 44, conf);

  // wireguard-tools accept it, and the private key belongs to the public
  // key the server stored.
  const derived = execFileSync("wg", ["pubkey"], { input: `${privateKey}\n`, encoding: "utf8" }).trim();
  const token = await apiToken("finance-admin@example.com");
  const stored = await storedClient(token, "phone");
  assert.equal(stored.status, 200);
  assert.equal(stored.body.spec.public_key, derived);
  assert.deepEqual(stored.body.spec.allowed_networks, ["web"]);
  const dir = mkdtempSync(join(tmpdir(), "vxg-wg-"));
  try {
    const file = join(dir, "phone.conf");
    writeFileSync(file, conf, { mode: 0o600 });
    const stripped = execFileSync("wg-quick", ["strip", file], { encoding: "utf8" });
    assert.match(stripped, new RegExp(`^PrivateKey = ${privateKey.replace(/[+/=]/g, "\\$&")}$`, "m"));
    assert.match(stripped, /^Endpoint = [\d.]+:\d+$/m);
    assert.match(stripped, /^AllowedIPs = 100\.64\.1\.0\/28$/m);
    assert.doesNotMatch(stripped, /^Address/m, "wg-quick keeps its own keys out of the stripped file");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // The private key reached the server in no request, and is nowhere in
  // its database (which does hold the public key).
  assert.ok(sent.some((r) => r.body.includes(encodeURIComponent(derived))), "the public key was sent");
  for (const r of sent) {
    for (const k of [privateKey, encodeURIComponent(privateKey)]) {
      assert.ok(!r.url.includes(k) && !r.body.includes(k) && !r.headers.includes(k), `the private key was sent to ${r.url}`);
    }
  }
  const dump = databaseDump();
  assert.ok(dump.includes(derived), "the dump holds the public key");
  assert.ok(!dump.includes(privateKey), "the private key is in the server's database");

  await page.locator("#created-client").scrollIntoViewIfNeeded();
  await shot(page, "21-client-created", false);
  // On a phone the page (and the QR code) fits.
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, "22-client-created-phone");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page scrolls sideways on a phone by ${overflow}px`);
  await page.setViewportSize({ width: 1280, height: 900 });

  // Revoking asks first, then the client is gone.
  await Promise.all([page.waitForURL(/\/clients\/phone\/delete$/), page.getByRole("link", { name: "Revoke client phone" }).click()]);
  await hydrated(page);
  await shot(page, "23-client-revoke-confirm");
  await Promise.all([page.waitForURL(/deleted=phone/), page.getByRole("button", { name: "Revoke the client" }).click()]);
  assert.match(await page.getByRole("status").innerText(), /Client phone revoked; job #\d+/);
  assert.equal(await page.locator('tr[data-client="phone"]').count(), 0);
  assert.equal(await page.locator('tr[data-client="cfo-laptop"]').count(), 1);
  assert.equal((await storedClient(token, "phone")).status, 404);
  await page.context().close();
});

test("the server's field errors show next to the field", async () => {
  const page = await newPage();
  await login(page, "finance-admin@example.com");
  await page.goto(`${BASE}/t/finance/clients`);
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill("badkey");
  await page.getByLabel(/^Public key/).fill("not a key");
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST"),
    page.getByRole("button", { name: "Create client" }).click(),
  ]);
  assert.equal(resp.status(), 422);
  await page.locator("#public_key-error").waitFor();
  assert.equal(await page.locator("#public_key").getAttribute("aria-invalid"), "true");
  assert.equal(await page.locator("#created-client").count(), 0);
  await shot(page, "24-client-field-error");
  await page.context().close();
});

test("without JavaScript, a client is created from a pasted public key", async () => {
  const page = await newPage({ javaScriptEnabled: false });
  await login(page, "finance-admin@example.com");
  await page.goto(`${BASE}/t/finance/clients`);
  assert.match(await page.locator("#public_key-hint").innerText(), /needs JavaScript/);
  assert.notEqual(await page.locator("#public_key").getAttribute("required"), null);
  const privateKey = execFileSync("wg", ["genkey"], { encoding: "utf8" }).trim();
  const publicKey = execFileSync("wg", ["pubkey"], { input: `${privateKey}\n`, encoding: "utf8" }).trim();
  await page.getByLabel("Name", { exact: true }).fill("desk");
  await page.getByLabel("Public key").fill(publicKey);
  await Promise.all([page.waitForURL(/created=desk/), page.getByRole("button", { name: "Create client" }).click()]);
  assert.match(await page.locator("#client-notice").innerText(), /Client desk created/);
  const conf = await page.locator("#client-config").innerText();
  assert.match(conf, /^PrivateKey = <your private key>$/m);
  assert.equal(await page.locator("#client-qr").count(), 0);
  assert.match(await page.locator('tr[data-client="desk"]').innerText(), new RegExp(publicKey.replace(/[+/=]/g, "\\$&")));
  await shot(page, "25-client-created-nojs");
  await Promise.all([page.waitForURL(/\/clients\/desk\/delete$/), page.getByRole("link", { name: "Revoke client desk" }).click()]);
  await Promise.all([page.waitForURL(/deleted=desk/), page.getByRole("button", { name: "Revoke the client" }).click()]);
  assert.equal(await page.locator('tr[data-client="desk"]').count(), 0);
  await page.context().close();
});

test("a tenant member sees the clients but cannot change them", async () => {
  const page = await newPage();
  await login(page, "finance-member@example.com");
  await page.goto(`${BASE}/t/finance/clients`);
  await hydrated(page);
  await page.locator('tr[data-client="cfo-laptop"]').waitFor();
  assert.equal(await page.locator("#client-form").count(), 0);
  assert.equal(await page.getByRole("link", { name: /^Revoke client/ }).count(), 0);
  const r = await page.goto(`${BASE}/t/finance/clients/cfo-laptop/delete`);
  assert.equal(r.status(), 403);
  await page.context().close();
});

test("a member adds and revokes their own client once an admin allows it", async () => {
  const admin = await newPage();
  await login(admin, "finance-admin@example.com");
  const setting = async (on) => {
    await admin.goto(`${BASE}/t/finance/members`);
    await hydrated(admin);
    await admin.getByLabel(/Members may add their own WireGuard clients/).setChecked(on);
    await Promise.all([admin.waitForLoadState("load"), admin.locator("#members-clients-form button").click()]);
    await admin.locator(".notice").waitFor();
  };
  await setting(true);
  assert.match(await admin.locator(".notice").innerText(), /Members may now add/);

  const page = await newPage();
  const sent = [];
  page.on("request", (r) => sent.push(r.postData() ?? ""));
  await login(page, "finance-member@example.com");
  await page.goto(`${BASE}/t/finance/clients`);
  await hydrated(page);
  // Another's client: no revoke link.
  assert.equal(await page.getByRole("link", { name: "Revoke client cfo-laptop" }).count(), 0);
  await page.getByLabel("Name", { exact: true }).fill("member-phone");
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/t/finance/clients")),
    page.getByRole("button", { name: "Create client" }).click(),
  ]);
  assert.equal(resp.status(), 201);
  await page.locator("#created-client").waitFor();
  const conf = await page.locator("#client-config").innerText();
  const privateKey = conf.match(/PrivateKey = (\S+)/)[1];
  assert.ok(sent.every((b) => !b.includes(encodeURIComponent(privateKey)) && !b.includes(privateKey)), "the private key stays in the browser");
  await shot(page, "20-clients-member");

  // Their own client: revoked after confirming.
  await page.goto(`${BASE}/t/finance/clients`);
  await hydrated(page);
  await Promise.all([page.waitForURL(/\/delete$/), page.getByRole("link", { name: "Revoke client member-phone" }).click()]);
  await hydrated(page);
  await Promise.all([page.waitForURL(/\/t\/finance\/clients\?/), page.locator("#confirm-delete").click()]);
  assert.equal(await page.locator('tr[data-client="member-phone"]').count(), 0);

  await setting(false);
  await page.goto(`${BASE}/t/finance/clients`);
  assert.equal(await page.locator("#client-form").count(), 0);
  await page.context().close();
  await admin.context().close();
});

test("another tenant's clients page is not found, exactly like a missing one", async () => {
  const page = await newPage();
  await login(page, "acme-admin@example.com");
  const theirs = await page.goto(`${BASE}/t/finance/clients`);
  assert.equal(theirs.status(), 404);
  const text = await page.locator("main").innerText();
  assert.doesNotMatch(text, /cfo-laptop/);
  const missing = await page.goto(`${BASE}/t/no-such-tenant/clients`);
  assert.equal(missing.status(), 404);
  assert.equal(await page.locator("main").innerText(), text);
  await page.context().close();
});

test("a client's expiry is typed in the viewer's time and stored in UTC", async () => {
  // Berlin in July is UTC+2.
  const page = await newPage({ timezoneId: "Europe/Berlin" });
  await login(page, "finance-admin@example.com");
  await page.goto(`${BASE}/t/finance/clients`);
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill("visitor");
  await page.getByLabel("Expires (optional)").fill("2030-07-01T12:00");
  assert.match(await page.locator("#expires_at-hint").innerText(), /In your time zone/);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/t/finance/clients")),
    page.getByRole("button", { name: "Create client" }).click(),
  ]);
  assert.equal(resp.status(), 201);
  const cell = page.locator('tr[data-client="visitor"] td[data-label="Expires"] span');
  await cell.waitFor();
  // Shown in the viewer's zone, UTC on hover.
  await page.waitForFunction(() => document.querySelector('tr[data-client="visitor"] td[data-label="Expires"] span')?.title);
  assert.equal(await cell.getAttribute("title"), "2030-07-01 10:00:00 UTC");
  assert.match(await cell.innerText(), /12:00/);
  const stored = await storedClient(await apiToken("finance-admin@example.com"), "visitor");
  assert.equal(stored.body.spec.expires_at, "2030-07-01T10:00:00Z");
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the clients page scrolls sideways on a phone by ${overflow}px`);
  await shot(page, "21-clients-expiry-phone");
  await page.context().close();
});

test("no page logged an error", () => {
  assert.deepEqual(problems, []);
});
