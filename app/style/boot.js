// Loads the portal's hydrate bundle (built by scripts/build-portal into
// $LEPTOS_SITE_ROOT/pkg). Pages work without it: if it is missing, nothing
// breaks, the page just stays server-rendered.
import init, { hydrate } from "/pkg/app.js";
init({ module_or_path: "/pkg/app_bg.wasm" })
  .then(() => hydrate())
  .catch((e) => console.warn("vxguard: running without the hydrate bundle:", e));
