// The policy page with 2,000 rules (issue 19's figures): fills the demo's
// finance tenant up to RULES rules through the API (POST .../rules, one at
// a time as a client would), then measures, as its admin: the server's
// answer for /t/finance/policy (time to the first byte and the whole
// answer, HTML bytes) over LOADS loads, and in headless Chromium the time
// from the navigation to the page being interactive (body[data-hydrated],
// set once the bundle has hydrated it) and to the load event. Prints the
// figures; asserts nothing. scripts/bench-portal runs it against a fresh
// server. Usage: PORTAL_URL=... node playwright/bench-policy.mjs
import { chromium } from "playwright-core";

const BASE = process.env.PORTAL_URL ?? "http://127.0.0.1:3098";
const PASSWORD = process.env.VXGUARD_DEMO_PASSWORD ?? "vxguard-demo-password";
const RULES = Number(process.env.RULES ?? 2000);
const LOADS = Number(process.env.LOADS ?? 5);
const EMAIL = "finance-admin@example.com";

async function api(method, path, token, body) {
  const r = await fetch(`${BASE}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0].toFixed(0)}-${s[s.length - 1].toFixed(0)} ms (median ${s[Math.floor(s.length / 2)].toFixed(0)})`;
};

const { access_token: token } = await api("POST", "/api/v1/auth/login", null, { email: EMAIL, password: PASSWORD });
const ids = new Set();
for (let cursor = null; ; ) {
  const q = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
  const page = await api("GET", `/api/v1/tenants/finance/rules?limit=500${q}`, token);
  for (const r of page.items) ids.add(Number(r.name));
  cursor = page.next_cursor ?? page.next ?? null;
  if (!cursor || page.items.length === 0) break;
}
let next = 100;
const t0 = performance.now();
let made = 0;
while (ids.size + made < RULES) {
  while (ids.has(next)) next++;
  const n = next++;
  // A rule per source prefix: every one compiles (none is shadowed).
  const b = n % 256;
  const c = Math.floor(n / 256) % 256;
  await api("POST", "/api/v1/tenants/finance/rules", token, {
    id: n,
    description: `bulk ${n}`,
    action: n % 3 === 0 ? "drop" : "accept",
    protocol: "tcp",
    destination_port: 1000 + (n % 50000),
    source: { type: "cidr", cidr: `10.${c}.${b}.0/24` },
    destination: { type: "network", network: "web" },
  });
  made++;
  if (made % 250 === 0) console.log(`${made} rules made, ${((performance.now() - t0) / made).toFixed(0)} ms each`);
}
if (made) console.log(`made ${made} rules in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// A browser session (the portal's cookie), shared by fetch and Chromium.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await ctx.newPage();
await page.goto(`${BASE}/login`);
await page.getByLabel("Email").fill(EMAIL);
await page.getByLabel("Password").fill(PASSWORD);
await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.getByRole("button", { name: "Log in" }).click()]);
const cookie = (await ctx.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");

const url = `${BASE}/t/finance/policy`;
const first = [], whole = [], sizes = [];
for (let i = 0; i < LOADS; i++) {
  const t = performance.now();
  const r = await fetch(url, { headers: { cookie, accept: "text/html" } });
  const reader = r.body.getReader();
  let bytes = 0, firstAt = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (firstAt === null) firstAt = performance.now();
    bytes += value.length;
  }
  first.push(firstAt - t);
  whole.push(performance.now() - t);
  sizes.push(bytes);
  if (r.status !== 200) throw new Error(`policy page: ${r.status}`);
}
const count = await page.goto(url).then(() => page.locator("#rules tbody tr").count());
const total = await page.locator("#rule-count, .count").first().innerText().catch(() => "");

const interactive = [], loaded = [];
for (let i = 0; i < LOADS; i++) {
  const t = Date.now();
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForSelector("body[data-hydrated=true]", { timeout: 60_000 });
  interactive.push(Date.now() - t);
  await page.waitForLoadState("load");
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    return { ttfb: n.responseStart - n.startTime, load: n.loadEventEnd - n.startTime };
  });
  loaded.push(nav.load);
}
await browser.close();

console.log(`policy page, ${RULES} rules (${count} rows shown${total ? `; "${total}"` : ""}):`);
console.log(`  server: first byte ${stats(first)}, whole answer ${stats(whole)}, ${sizes[0].toLocaleString("en")} bytes of HTML`);
console.log(`  Chromium: interactive (hydrated) ${stats(interactive)} after the navigation; load event ${stats(loaded)}`);
