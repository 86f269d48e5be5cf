/**
 * `mailroom serve` configuration (docs/protocol.md §9, issue 6): every setting has a flag and an environment
 * twin listed in `--help` with its default; a bad value stops the node at start with exit code 2 and a
 * message naming the flag, the variable and the accepted values; a flag wins over its twin.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startNode } from "./helpers/nodes.js";
import { command, connectSocket } from "./helpers/sockets.js";

const CLI = fileURLToPath(new URL("../packages/cli/bin/mailroom.js", import.meta.url));

function serve(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, "serve", ...args], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

const SETTINGS = [
  ["--port", "PORT", "3000"],
  ["--host", "HOST", '"127.0.0.1"'],
  ["--redis", "REDIS_URL", undefined],
  ["--jwt-secret", "MAILROOM_JWT_SECRET", undefined],
  ["--jwt-public-key", "MAILROOM_JWT_PUBLIC_KEY", undefined],
  ["--insecure", "MAILROOM_INSECURE", "false"],
  ["--log-level", "LOG_LEVEL", '"info"'],
  ["--max-message-bytes", "MAILROOM_MAX_MESSAGE_BYTES", "1048576"],
  ["--dedup-window-ms", "MAILROOM_DEDUP_WINDOW_MS", "300000"],
  ["--visibility-ms", "MAILROOM_VISIBILITY_MS", "30000"],
  ["--max-attempts", "MAILROOM_MAX_ATTEMPTS", "5"],
  ["--drain-delay-ms", "MAILROOM_DRAIN_DELAY_MS", "1000"],
  ["--metrics-max-queues", "MAILROOM_METRICS_MAX_QUEUES", "1000"],
  ["--redis-command-timeout-ms", "MAILROOM_REDIS_COMMAND_TIMEOUT_MS", "2000"],
  ["--cors-origins", "MAILROOM_CORS_ORIGINS", undefined],
  ["--redis-mode", "MAILROOM_REDIS_MODE", '"standalone"'],
  ["--redis-sentinel-master", "MAILROOM_REDIS_SENTINEL_MASTER", '"mymaster"'],
  ["--adapter", "MAILROOM_ADAPTER", undefined],
  ["--redis-wait-replicas", "MAILROOM_REDIS_WAIT_REPLICAS", "0"],
] as const;

describe("mailroom serve configuration", () => {
  it("lists every setting with its environment twin and default in --help", () => {
    const { code, output } = serve(["--help"]);
    expect(code).toBe(0);
    const help = output.replace(/\s+/g, " ");
    for (const [flag, env, fallback] of SETTINGS) {
      expect(help, flag).toContain(`${flag} `);
      expect(help, env).toContain(env);
      if (fallback !== undefined) expect(help, `${flag} default`).toMatch(new RegExp(`default: ${fallback}`));
    }
  });

  it.each([
    [
      { MAILROOM_MAX_ATTEMPTS: "0" },
      /--max-attempts \(MAILROOM_MAX_ATTEMPTS\) must be an integer from 1 to \d+, got 0/,
    ],
    [{ MAILROOM_VISIBILITY_MS: "5" }, /--visibility-ms \(MAILROOM_VISIBILITY_MS\) must be an integer from 1000/],
    [
      { MAILROOM_DRAIN_DELAY_MS: "60000" },
      /--drain-delay-ms \(MAILROOM_DRAIN_DELAY_MS\) must be an integer from 0 to 5000/,
    ],
    [{ REDIS_URL: "http://redis" }, /--redis \(REDIS_URL\) must start with redis:\/\/ or rediss:\/\//],
    [
      { REDIS_URL: "redis://a:6379,redis://b:6379" },
      /--redis \(REDIS_URL\) must be one URL in standalone mode: .*set the Redis mode to cluster or sentinel/,
    ],
    [
      { MAILROOM_REDIS_MODE: "cluster", REDIS_URL: "redis://a:6379,b:6379" },
      /--redis \(REDIS_URL\) must start with redis:\/\/ or rediss:\/\/ \(each URL of a list\), got b:6379/,
    ],
    [
      { MAILROOM_REDIS_MODE: "replicated" },
      /--redis-mode.*'replicated' from env 'MAILROOM_REDIS_MODE'.*Allowed choices are standalone, cluster, sentinel/,
    ],
    [{ MAILROOM_ADAPTER: "streams" }, /--adapter.*'streams'.*Allowed choices are classic, sharded/],
    [
      { MAILROOM_REDIS_WAIT_REPLICAS: "-1" },
      /--redis-wait-replicas \(MAILROOM_REDIS_WAIT_REPLICAS\) must be an integer from 0 to 16, got -1/,
    ],
    [{ LOG_LEVEL: "loud" }, /--log-level.*'loud' from env 'LOG_LEVEL'.*Allowed choices are fatal, error/],
    [{ PORT: "abc" }, /--port.*'abc' from env 'PORT'.*expected an integer/],
    [{ MAILROOM_INSECURE: "maybe" }, /MAILROOM_INSECURE must be true or false, got "maybe"/],
    [{ HOST: "0.0.0.0" }, /refusing to listen on 0\.0\.0\.0 with auth off/],
    [
      { MAILROOM_CORS_ORIGINS: "https://app.example.com/" },
      /--cors-origins \(MAILROOM_CORS_ORIGINS\) must be \* or a comma-separated list of origins .*write it as a browser sends it, https:\/\/app\.example\.com/,
    ],
  ])("refuses %j at start with a message naming it", (env, message) => {
    const { code, output } = serve([], env as Record<string, string>);
    expect(code).not.toBe(0);
    expect(code).toBe(2);
    expect(output).toMatch(message);
  });

  it("lets a flag win over its twin, and reads the twin when no flag is given", async () => {
    const node = await startNode({ args: ["--metrics-max-queues", "1"], env: { MAILROOM_METRICS_MAX_QUEUES: "0" } });
    expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
    const refused = serve([], { MAILROOM_METRICS_MAX_QUEUES: "0", PORT: "0" });
    expect(refused.code).toBe(2);
    expect(refused.output).toMatch(/--metrics-max-queues \(MAILROOM_METRICS_MAX_QUEUES\)/);
  });

  it("applies the queue defaults from their variables, a flag beating its variable, and MAILROOM_INSECURE", async () => {
    const fromEnv = await startNode({ env: { MAILROOM_VISIBILITY_MS: "2000" } });
    const socket = await connectSocket(fromEnv.url);
    expect(await command(socket, "queue:consume", { queue: "env" })).toMatchObject({ ok: true, visibilityMs: 2000 });
    const flagWins = await startNode({ args: ["--visibility-ms", "3000"], env: { MAILROOM_VISIBILITY_MS: "2000" } });
    const other = await connectSocket(flagWins.url);
    expect(await command(other, "queue:consume", { queue: "env" })).toMatchObject({ ok: true, visibilityMs: 3000 });
    const open = await startNode({ env: { HOST: "0.0.0.0", MAILROOM_INSECURE: "yes" } });
    expect((await fetch(`${open.url}/readyz`)).status).toBe(200);
  });
});
