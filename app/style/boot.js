// Loads the portal's hydrate bundle (scripts/build-portal). The server
// serves this file with the two paths below replaced by the bundle's
// content-hashed names (server/src/portal/bundle). Pages work without it:
// if it is missing, nothing breaks, the page just stays server-rendered.
import init, { hydrate } from "/pkg/app.js";
init({ module_or_path: "/pkg/app_bg.wasm" })
  .then(() => hydrate())
  .catch((e) => console.warn("vxguard: running without the hydrate bundle:", e));
