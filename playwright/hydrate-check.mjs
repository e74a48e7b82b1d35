// Logs in to a running portal as a tenant admin and waits for hydration,
// e.g. against scripts/run's server:
// `PORTAL_URL=http://127.0.0.1:3000 node --test playwright/hydrate-check.mjs`
import { test } from "node:test";
import assert from "node:assert/strict";
import { newPage, login, hydrated, BASE } from "./lib.mjs";

test("the portal hydrates", async () => {
  const page = await newPage();
  const bundle = [];
  page.on("response", (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith("/pkg/")) bundle.push(`${r.status()} ${path}`);
  });
  await login(page, "finance-admin@example.com");
  await hydrated(page);
  assert.ok(bundle.length >= 2 && bundle.every((b) => b.startsWith("200 ")), bundle.join(", "));
  console.log(`hydrated ${page.url()} (${BASE}); bundle: ${bundle.join(", ")}`);
});
