/**
 * The dashboard's build: Vite bundles src/ (Preact, uPlot) into static files inside the server package
 * (`packages/server/dashboard/`, git-ignored, listed in its package.json `files`), which every node serves
 * at `/admin` (packages/server/src/transports/http/dashboard-route.ts) under a Content-Security-Policy of
 * 'self' only. So the output holds no inline script or style: the module preload polyfill (an inline
 * script) is off, and no asset is inlined into the HTML. Source maps carry their sources, so the
 * published package needs no src/ of the dashboard for them to resolve.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const OUTPUT = fileURLToPath(new URL("../server/dashboard", import.meta.url));

export default defineConfig({
  // The node serves the page at /admin and its files under /admin/assets/.
  base: "/admin/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: OUTPUT,
    emptyOutDir: true,
    assetsDir: "assets",
    // Browsers from 2022 on, as the SDK's browser build.
    target: "es2022",
    sourcemap: true,
    modulePreload: { polyfill: false },
    // Every asset a file of its own: a data: URL in a stylesheet would need img-src data: for nothing.
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
});
