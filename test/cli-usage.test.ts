/**
 * What `mailroom` says when a command line cannot run (docs/cli.md, "Output" and "Exit codes"): a command
 * line commander refuses prints the documented usage line, `mailroom <command>: USAGE: <message>`, with a
 * hint at `--help`, and exits 2; `serve` on a port that is taken says which and how to pick another, and
 * exits 2. The built CLI as real processes; no node is needed for these.
 */
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { runCli } from "./helpers/cli.js";
import { freePort } from "./helpers/ports.js";

const USAGE_EXIT_CODE = 2;

/** Holds a loopback port the way another program would. */
async function occupiedPort(): Promise<number> {
  const port = await freePort();
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return port;
}

describe("mailroom usage errors", () => {
  it.each([
    [["send", "jobs", "--frobnicate"], "mailroom send: USAGE: unknown option '--frobnicate'", "send"],
    [["consume"], "mailroom consume: USAGE: missing required argument 'queue'", "consume"],
    [["send", "jobs", "x", "--count", "many"], "mailroom send: USAGE: option '--count <n>' argument 'many'", "send"],
    [["serve", "--frobnicate"], "mailroom serve: USAGE: unknown option '--frobnicate'", "serve"],
  ])("prints the usage line for %j and exits 2", async (args, line, command) => {
    const result = await runCli(args);
    expect(result.code).toBe(USAGE_EXIT_CODE);
    const [first, second] = result.stderr.split("\n");
    expect(first).toContain(line);
    expect(first?.startsWith(`mailroom ${command}: USAGE: `)).toBe(true);
    expect(second).toBe(`(run "mailroom ${command} --help" for usage)`);
    expect(result.stdout).toBe("");
  });

  it("prints the usage line without a command name for an unknown top-level flag or command", async () => {
    const flag = await runCli(["--frobnicate"]);
    expect(flag.code).toBe(USAGE_EXIT_CODE);
    expect(flag.stderr.split("\n")[0]).toBe("mailroom: USAGE: unknown option '--frobnicate'");
    const command = await runCli(["sned"]);
    expect(command.code).toBe(USAGE_EXIT_CODE);
    expect(command.stderr).toMatch(/^mailroom: USAGE: unknown command 'sned'\n\(Did you mean send\?\)/);
  });

  it("never prints commander's bare `error:` prefix", async () => {
    const result = await runCli(["stats", "a", "b"]);
    expect(result.code).toBe(USAGE_EXIT_CODE);
    expect(result.stderr).not.toMatch(/^error:/m);
    expect(result.stderr).toMatch(/^mailroom stats: USAGE: too many arguments/);
  });
});

describe("mailroom serve on a port in use", () => {
  it("says the port is in use and names --port and PORT, and exits 2", async () => {
    const port = await occupiedPort();
    const result = await runCli(["serve", "--port", String(port)]);
    expect(result.code).toBe(USAGE_EXIT_CODE);
    expect(result.stderr).toContain(`mailroom serve: port ${port} is in use: pick another with --port (PORT)`);
    expect(result.stderr).not.toContain("EADDRINUSE");
  });

  it("says the same when the port came from PORT", async () => {
    const port = await occupiedPort();
    const result = await runCli(["serve"], { env: { PORT: String(port) } });
    expect(result.code).toBe(USAGE_EXIT_CODE);
    expect(result.stderr).toContain(`port ${port} is in use: pick another with --port (PORT)`);
  });
});
