// Loads the portal's hydrate bundle (scripts/build-portal). The server
// serves this file with the two paths below replaced by the bundle's
// content-hashed names (server/src/portal/bundle). Pages work without it:
// if it is missing, nothing breaks, the page just stays server-rendered.
// Only pages that carry their props (`<script id="vx-props">`) are
// hydrated; the others are the server's alone (app::PageProps::hydrates)
// and do not load the bundle.

// Times are rendered in UTC ("2026-12-06 21:52:14 UTC"): shown here in the
// viewer's time zone, the UTC text kept on hover (the element's title).
// Only a text node's content changes, never the tree, so it is safe before
// or after hydration; a page without JavaScript keeps UTC.
const UTC_TIME = /(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}(?::\d{2})?) UTC/;
function localTimes(root) {
  let fmt;
  try {
    fmt = new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
    });
  } catch {
    return;
  }
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const p = n.parentElement;
    if (p && !["SCRIPT", "STYLE", "TEXTAREA", "PRE", "CODE"].includes(p.tagName) && UTC_TIME.test(n.data)) {
      found.push(n);
    }
  }
  for (const n of found) {
    const m = n.data.match(UTC_TIME);
    const when = new Date(`${m[1]}T${m[2].length === 5 ? m[2] + ":00" : m[2]}Z`);
    if (Number.isNaN(when.getTime())) continue;
    const p = n.parentElement;
    if (!p.title) p.title = m[0];
    p.dataset.utc = m[0];
    n.data = n.data.replace(m[0], fmt.format(when));
  }
}

// Times a page adds or changes later (the live job list, a row's state)
// are shown in the viewer's zone too. A time already shown there no longer
// reads "... UTC", so changing it is not seen again.
function followTimes() {
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "characterData") {
        if (r.target.parentElement) localTimes(r.target.parentElement);
        continue;
      }
      for (const n of r.addedNodes) {
        if (n.nodeType === Node.ELEMENT_NODE) localTimes(n);
        else if (n.nodeType === Node.TEXT_NODE && n.parentElement) localTimes(n.parentElement);
      }
    }
  }).observe(document.body, { childList: true, characterData: true, subtree: true });
}

// A page that is not hydrated: its forms show that they are on their way
// (the button's `data-busy` text, `aria-disabled`) and refuse a second
// submission, as the hydrated pages' SubmitButton does.
function busyForms() {
  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || ev.defaultPrevented) return;
    if (form.dataset.sent) {
      ev.preventDefault();
      return;
    }
    form.dataset.sent = "true";
    const button = ev.submitter ?? form.querySelector("button[type=submit]");
    if (button) {
      button.setAttribute("aria-disabled", "true");
      if (button.dataset.busy) button.textContent = button.dataset.busy;
    }
  });
}

function done() {
  localTimes(document.body);
  followTimes();
}

if (document.getElementById("vx-props")) {
  import("/pkg/app.js")
    .then((m) => m.default({ module_or_path: "/pkg/app_bg.wasm" }).then(() => m.hydrate()))
    .catch((e) => console.warn("vxguard: running without the hydrate bundle:", e))
    .finally(done);
} else {
  busyForms();
  // As far as this page goes, the browser has done its part.
  document.body.dataset.hydrated = "true";
  done();
}
