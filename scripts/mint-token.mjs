#!/usr/bin/env node
// Prints a JWT (HS256, signed with MAILROOM_JWT_SECRET) that a Mailroom node with that secret accepts:
// for trying a deployment and for scripts, not an identity provider. No dependencies: it also runs in
// the Docker image (`docker compose exec node node scripts/mint-token.mjs`), where the secret is set.
// Usage: MAILROOM_JWT_SECRET=... node scripts/mint-token.mjs [--sub NAME] [--hours N] [--rights JSON]
//   --rights maps namespaces (or "*") to rights, as the README's Auth section; default {"*":["admin"]}.
import { createHmac } from "node:crypto";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    sub: { type: "string", default: "mint-token" },
    hours: { type: "string", default: "24" },
    rights: { type: "string", default: '{"*":["admin"]}' },
  },
});

const secret = process.env.MAILROOM_JWT_SECRET;
if (!secret) {
  console.error("mint-token: set MAILROOM_JWT_SECRET to the nodes' --jwt-secret");
  process.exit(2);
}
const hours = Number(values.hours);
if (!(hours > 0)) {
  console.error(`mint-token: --hours must be a positive number, got "${values.hours}"`);
  process.exit(2);
}

const base64url = (value) => Buffer.from(value).toString("base64url");
const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
const payload = base64url(
  JSON.stringify({
    sub: values.sub,
    exp: Math.floor(Date.now() / 1000 + hours * 3600),
    mailroom: JSON.parse(values.rights),
  }),
);
const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
console.log(`${header}.${payload}.${signature}`);
