/**
 * The node's log format (README, "Configuration"): JSON lines when stdout is not a terminal (a pipe, a
 * file, a container's log driver), lines for a person when it is one, and no secret in either (docs/
 * protocol.md §15). The terminal is a real pseudo-terminal: `script` from util-linux runs `mailroom serve`
 * in one, and is sent Ctrl-C through it, as a person would stop the node.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { startNode } from "./helpers/nodes.js";
import { freePort } from "./helpers/ports.js";
import { startRedis } from "./helpers/redis.js";
import { waitFor } from "./helpers/wait.js";

const CLI = fileURLToPath(new URL("../packages/cli/bin/mailroom.js", import.meta.url));
const HAS_SCRIPT = spawnSync("script", ["--version"]).status === 0;
/** Colours and other terminal escapes, which pino-pretty writes to a terminal. */
const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
/** What a terminal sends for Ctrl-C: the line discipline turns it into SIGINT for the node. */
const CTRL_C = "\u0003";

function secret(label: string): string {
  return `${label}-${randomBytes(12).toString("hex")}`;
}

function nonEmptyLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== "");
}

/** Quotes `word` for sh. */
function shellQuoted(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `mailroom serve <args>` in a pseudo-terminal; resolves with the exit code once it has stopped. */
function serveInTerminal(args: string[]): { output(): string; child: ChildProcess; exited: Promise<number | null> } {
  const command = ["exec", process.execPath, CLI, "serve", ...args].map(shellQuoted).join(" ");
  const child = spawn("script", ["--quiet", "--flush", "--return", "--command", command, "/dev/null"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return { output: () => output, child, exited };
}

describe("the node's log format", () => {
  it("writes one JSON object per line when stdout is not a terminal", async () => {
    const node = await startNode({ args: ["--log-level", "debug"] });
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    expect(await node.stop()).toBe(0);

    const lines = nonEmptyLines(node.output());
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry, line).toMatchObject({
        level: expect.any(Number),
        time: expect.any(Number),
        msg: expect.any(String),
      });
    }
    expect(lines.some((line) => line.includes("Mailroom node ready on the memory engine"))).toBe(true);
  });

  it.skipIf(!HAS_SCRIPT)(
    "pretty-prints on a terminal, with no Redis password or JWT secret, and stops at Ctrl-C (needs util-linux's script)",
    async () => {
      const rightPassword = secret("right-password");
      const wrongPassword = secret("wrong-password");
      const jwtSecret = secret("jwt-secret");
      const redis = await startRedis({ requirepass: rightPassword });
      const port = await freePort();
      const node = serveInTerminal([
        "--port",
        String(port),
        "--redis",
        `redis://:${wrongPassword}@127.0.0.1:${redis.port}`,
        "--jwt-secret",
        jwtSecret,
        "--log-level",
        "debug",
      ]);
      await waitFor(() => /Redis unreachable at 127\.0\.0\.1:\d+: WRONGPASS/.test(node.output()), {
        timeoutMs: 15_000,
        what: `the node to log that Redis refused its password; so far:\n${node.output()}`,
      });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, {
        what: "the node to listen",
      });
      node.child.stdin?.write(CTRL_C);
      expect(await node.exited).toBe(0);

      const output = node.output().replace(ANSI_ESCAPE, "");
      const lines = nonEmptyLines(output);
      // pino-pretty's shape: [HH:MM:ss.mmm] LEVEL: message {fields}
      const pretty = /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL): /;
      expect(lines.find((line) => line.includes("Mailroom node listening at"))).toMatch(pretty);
      expect(lines.find((line) => line.includes("Redis unreachable"))).toMatch(
        /^\[[\d:.]+\] ERROR: Redis unreachable at 127\.0\.0\.1:\d+: WRONGPASS \(Redis refused the password\)/,
      );
      expect(lines.filter((line) => line.startsWith("{"))).toEqual([]);
      for (const hidden of [wrongPassword, rightPassword, jwtSecret]) expect(output).not.toContain(hidden);
    },
  );
});
