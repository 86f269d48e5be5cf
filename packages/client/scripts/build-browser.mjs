/**
 * The browser build of @mailroom/client: one ES module holding the SDK and everything it imports
 * (@mailroom/protocol, socket.io-client and theirs), minified, with a linked source map that carries the
 * sources, so a page needs no import map and no bundler. Written to `browser/mailroom-client.js` and
 * `browser/mailroom-client.js.map`, which the package ships and a Mailroom node serves at
 * `/mailroom-client.js` (packages/server/src/transports/http/browser-client.ts).
 *
 * Run after `tsc -b` (the root `npm run build` and this package's `prepack` do): the SDK's own TypeScript is
 * bundled from src/, but @mailroom/protocol is read from its compiled dist/.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const PACKAGE_ROOT = fileURLToPath(new URL("..", import.meta.url));
const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

/** The syntax of the SDK's own compiled output (tsconfig.base.json): browsers from 2022 on run it as is. */
const TARGET = "es2022";

await build({
  absWorkingDir: PACKAGE_ROOT,
  entryPoints: ["src/index.ts"],
  outfile: "browser/mailroom-client.js",
  bundle: true,
  format: "esm",
  // The "browser" condition and fields pick socket.io-client's browser build (no Node transports, no debug).
  platform: "browser",
  target: TARGET,
  minify: true,
  sourcemap: "linked",
  legalComments: "eof",
  banner: { js: `/*! @mailroom/client ${version}, browser build (bundled with socket.io-client) */` },
  logLevel: "warning",
});
