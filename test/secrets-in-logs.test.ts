/**
 * Secrets (docs/protocol.md §15): the logs never hold a token, the JWT secret or a Redis password, a failed
 * Redis AUTH included; `--jwt-secret-file` turns auth on without the secret on the command line; a key the
 * node cannot use, or a key file it cannot read, stops it at start with exit code 2 and a message naming
 * the flag. Real node processes (the built CLI) and a real redis-server that requires a password.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { SignJWT } from "jose";
import { io } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { runCli } from "./helpers/cli.js";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { startRedis } from "./helpers/redis.js";
import { waitFor, within } from "./helpers/wait.js";

/** Failed AUTHs Redis must have seen before the logs are read: about two seconds of both connections retrying. */
const FAILED_AUTHS_SEEN = 20;

function secret(label: string): string {
  return `${label}-${randomBytes(12).toString("hex")}`;
}

/** A fresh directory of the test's own, removed after it. */
function scratchDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), "mailroom-secrets-"));
  onCleanup(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

function fileHolding(text: string, name = "file"): string {
  const path = join(scratchDirectory(), name);
  writeFileSync(path, text);
  return path;
}

function token(key: string, expiresInSeconds = 60): Promise<string> {
  return new SignJWT({ mailroom: { "*": ["admin"] } })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("alice")
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
    .sign(new TextEncoder().encode(key));
}

/** Status of an HTTP request carrying `bearer`. */
async function httpStatus(node: NodeHandle, method: string, path: string, bearer: string): Promise<number> {
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    body: method === "POST" ? JSON.stringify({ data: { n: 1 } }) : undefined,
  });
  await response.arrayBuffer();
  return response.status;
}

/** A Socket.IO handshake carrying `token` on `namespace`: "connected" or the connect_error's message. */
async function handshake(node: NodeHandle, namespace: string, bearer: string): Promise<string> {
  const socket = io(`${node.url}${namespace}`, {
    auth: { token: bearer },
    forceNew: true,
    reconnection: false,
    transports: ["websocket"],
  });
  onCleanup(() => {
    socket.disconnect();
  });
  const outcome = await within(
    new Promise<string>((resolve) => {
      socket.once("connect", () => resolve("connected"));
      socket.once("connect_error", (error) => resolve(error.message));
    }),
    10_000,
    `a handshake on ${namespace}`,
  );
  if (outcome === "connected") {
    // A command whose store is away: answered, and logged by nobody with its token.
    await socket.timeout(10_000).emitWithAck("queue:send", { queue: "jobs", data: 1 });
  }
  socket.disconnect();
  return outcome;
}

/** How many AUTH attempts Redis refused, from its ACL log (identical entries are counted in one). */
async function failedAuths(admin: Redis): Promise<number> {
  const entries = (await admin.call("ACL", "LOG")) as unknown[][];
  let failed = 0;
  for (const entry of entries) {
    const fields = new Map<unknown, unknown>();
    for (let index = 0; index < entry.length; index += 2) fields.set(entry[index], entry[index + 1]);
    if (fields.get("reason") === "auth") failed += Number(fields.get("count"));
  }
  return failed;
}

function lines(output: string, pattern: RegExp): string[] {
  return output.split("\n").filter((line) => pattern.test(line));
}

describe("secrets in logs", () => {
  it("logs no Redis password, JWT secret or token at debug level while Redis refuses the password, and says it refused it", async () => {
    const rightPassword = secret("right-password");
    const wrongPassword = secret("wrong-password");
    const jwtSecret = secret("jwt-secret");
    const redis = await startRedis({ requirepass: rightPassword });
    const admin = new Redis(redis.port, "127.0.0.1", { password: rightPassword, lazyConnect: true });
    onCleanup(() => admin.disconnect());
    await admin.connect();
    const node = await startNode({
      redisUrl: `redis://:${wrongPassword}@127.0.0.1:${redis.port}`,
      args: ["--log-level", "debug", "--jwt-secret-file", fileHolding(`${jwtSecret}\n`)],
      until: "listening",
    });
    await waitFor(() => /Redis unreachable at 127\.0\.0\.1:\d+: WRONGPASS/.test(node.output()), {
      timeoutMs: 5000,
      what: "the node to log that Redis refused its password",
    });

    const valid = await token(jwtSecret);
    const foreign = await token(secret("another-secret"));
    const expired = await token(jwtSecret, -60);
    expect(await httpStatus(node, "GET", "/v1/namespaces/_/queues/jobs", valid)).toBe(503);
    expect(await httpStatus(node, "POST", "/v1/namespaces/orders/queues/jobs/messages", valid)).toBe(503);
    expect(await httpStatus(node, "GET", "/v1/namespaces/_/queues/jobs", foreign)).toBe(401);
    expect(await httpStatus(node, "POST", "/v1/namespaces/_/queues/jobs/messages", expired)).toBe(401);
    expect(await handshake(node, "/", valid)).toBe("connected");
    expect(await handshake(node, "/orders", valid)).toBe("connected");
    expect(await handshake(node, "/", foreign)).toBe("unauthorized");
    expect(await handshake(node, "/orders", expired)).toBe("unauthorized");
    await waitFor(async () => (await failedAuths(admin)) >= FAILED_AUTHS_SEEN, {
      what: `Redis to refuse ${FAILED_AUTHS_SEEN} AUTH attempts`,
    });
    expect(await node.stop()).toBe(0);

    const output = node.output();
    const tokens = [valid, foreign, expired];
    const signatures = tokens.map((each) => each.split(".")[2] as string);
    for (const hidden of [wrongPassword, rightPassword, jwtSecret, ...tokens, ...signatures]) {
      expect(output).not.toContain(hidden);
    }
    expect(output).not.toContain("unhandled rejection");
    // Told once, not at each of the refused attempts.
    expect(lines(output, /Redis unreachable/)).toEqual([
      expect.stringContaining("WRONGPASS (Redis refused the password)"),
    ]);
  });

  it("turns auth on from --jwt-secret-file: its secret's tokens are accepted, others refused, and the secret is on no command line", async () => {
    const jwtSecret = secret("file-secret");
    const node = await startNode({ args: ["--jwt-secret-file", fileHolding(`${jwtSecret}\n`)] });
    const stats = "/v1/namespaces/_/queues/jobs";
    expect(await httpStatus(node, "GET", stats, await token(jwtSecret))).toBe(200);
    expect(await httpStatus(node, "GET", stats, await token(`${jwtSecret}\n`))).toBe(401);
    expect(await httpStatus(node, "GET", stats, await token(secret("another-secret")))).toBe(401);
    expect(await handshake(node, "/", await token(jwtSecret))).toBe("connected");
    expect(await handshake(node, "/", await token(secret("another-secret")))).toBe("unauthorized");
    const commandLine = readFileSync(`/proc/${node.pid()}/cmdline`, "utf8");
    expect(commandLine).toContain("--jwt-secret-file");
    expect(commandLine).not.toContain(jwtSecret);
  });

  it.each([
    [
      "an empty file",
      () => ["--jwt-secret-file", fileHolding("\n")],
      /--jwt-secret-file \(MAILROOM_JWT_SECRET_FILE\) must hold a secret/,
    ],
    [
      "a file that does not exist",
      () => ["--jwt-secret-file", join(scratchDirectory(), "absent")],
      /--jwt-secret-file \(MAILROOM_JWT_SECRET_FILE\) must name a readable file.*ENOENT/,
    ],
    [
      "a file with --jwt-secret",
      () => ["--jwt-secret-file", fileHolding("s3cret-in-a-file"), "--jwt-secret", "s3cret-on-the-line"],
      /--jwt-secret-file \(MAILROOM_JWT_SECRET_FILE\) cannot be given with a JWT secret or a JWT public key/,
    ],
    [
      "a file with --jwt-public-key",
      () => [
        "--jwt-secret-file",
        fileHolding("s3cret-in-a-file"),
        "--jwt-public-key",
        generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }) as string,
      ],
      /--jwt-secret-file \(MAILROOM_JWT_SECRET_FILE\) cannot be given with a JWT secret or a JWT public key/,
    ],
  ])("refuses %s for --jwt-secret-file with exit code 2 naming the flag", async (_case, args, message) => {
    const result = await runCli(["serve", "--port", "0", ...args()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it.each([
    ["a broken PEM", () => fileHolding("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "broken.pem")],
    [
      "an Ed25519 public key",
      () =>
        fileHolding(
          generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }) as string,
          "ed25519.pem",
        ),
    ],
    ["a key file that does not exist", () => join(scratchDirectory(), "absent.pem")],
  ])("refuses %s for --jwt-public-key with exit code 2 and a message naming the flag", async (_case, keyPath) => {
    const result = await runCli(["serve", "--port", "0", "--jwt-public-key", keyPath()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^mailroom serve: --jwt-public-key \(MAILROOM_JWT_PUBLIC_KEY\) must be /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).not.toContain("listening");
  });
});
