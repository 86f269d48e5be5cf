#!/usr/bin/env node
// The `mailroom` command: a thin launcher for the compiled CLI (dist/ ships in the package; a checkout
// builds it at `npm install`, through the root `prepare`).
import { main } from "../dist/main.js";

main(process.argv).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
