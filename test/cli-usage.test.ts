/**
 * What `mailroom` says when a command line cannot run (docs/cli.md, "Output" and "Exit codes"): a command
 * line commander refuses prints the documented usage line, `mailroom <command>: USAGE: <message>`, with a
 * hint at `--help`, and exits 2. The built CLI as real processes; no node is needed for these.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";

const USAGE_EXIT_CODE = 2;

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
