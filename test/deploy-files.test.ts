/**
 * The deployment files say what docs/deployment.md promises: `docker-compose config` (when the binary is
 * installed; .ci/run installs it) shows Redis with AOF fsynced every second and noeviction on a volume,
 * nodes on 0.0.0.0 with auth required, a /readyz healthcheck and a grace period above the 10 s drain, and
 * the load balancer on 8080 with the repo's haproxy.cfg. The nodes' healthcheck commands (compose's and the
 * Dockerfile's) are run for real against a node, and `haproxy -c` checks the config with compose's values.
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { HAPROXY_CONFIG, haproxyInstalled } from "./helpers/haproxy.js";
import { startNode } from "./helpers/nodes.js";
import { freePort } from "./helpers/ports.js";
import { startRedis } from "./helpers/redis.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const COMPOSE_FILE = `${ROOT}docker-compose.yml`;
const DOCKERFILE = `${ROOT}Dockerfile`;

function installed(binary: string, versionFlag: string): boolean {
  try {
    execFileSync(binary, [versionFlag], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const COMPOSE = installed("docker-compose", "version");
if (!COMPOSE)
  console.warn("deploy-files.test.ts: `docker-compose config` checks skipped (apt-get install docker-compose)");
const HAPROXY = haproxyInstalled();

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  ports?: Array<string | { published: number | string; target: number }>;
  volumes?: Array<string | { source?: string; target: string }>;
  stop_grace_period?: string;
  build?: unknown;
}

/** `docker-compose config` with `env`, parsed: the file as Compose itself resolves it. */
async function composeConfig(env: Record<string, string>): Promise<{ services: Record<string, ComposeService> }> {
  const { stdout } = await run("docker-compose", ["-f", COMPOSE_FILE, "config"], {
    env: { ...withoutComposeVariables(process.env), ...env },
  });
  return parse(stdout);
}

function withoutComposeVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { MAILROOM_JWT_SECRET: _secret, LOG_LEVEL: _level, ...rest } = env;
  return rest;
}

/** "15s", "1m30s" → seconds. */
function seconds(duration: string): number {
  const match = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!match) throw new Error(`not a duration: ${duration}`);
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

/** The exec-form command of the Dockerfile's HEALTHCHECK. */
function dockerfileHealthcheck(): string[] {
  const match = /^HEALTHCHECK[^\n]*(?:\\\n[^\n]*)*?CMD (\[.*\])$/m.exec(readFileSync(DOCKERFILE, "utf8"));
  if (!match) throw new Error("no exec-form HEALTHCHECK in the Dockerfile");
  return JSON.parse(match[1] as string);
}

/** Runs a healthcheck's `CMD` argv (["CMD", "node", ...] or ["node", ...]) with PORT set; its exit code. */
async function healthcheckExitCode(test: string[], port: number): Promise<number> {
  const [binary, ...args] = test[0] === "CMD" ? test.slice(1) : test;
  try {
    await run(binary === "node" ? process.execPath : (binary as string), args, {
      env: { ...process.env, PORT: String(port) },
      timeout: 10_000,
    });
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

describe.skipIf(!COMPOSE)("docker-compose.yml, as `docker-compose config` resolves it", () => {
  it("runs Redis with an append-only file fsynced every second, noeviction, and its data on a volume", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" });
    const redis = services.redis as ComposeService;
    const command = (redis.command ?? []).join(" ");
    expect(command).toContain("--appendonly yes");
    expect(command).toContain("--appendfsync everysec");
    expect(command).toContain("--maxmemory-policy noeviction");
    expect(redis.volumes).toContainEqual(expect.stringMatching(/^redis-data:\/data(:rw)?$/));
  });

  it("builds the nodes from the Dockerfile, on 0.0.0.0 with Redis and the JWT secret, checked on /readyz, with a grace period above the 10 s drain", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "a-secret" });
    const node = services.node as ComposeService;
    expect(node.build).toBeDefined();
    expect(node.environment).toMatchObject({
      HOST: "0.0.0.0",
      REDIS_URL: "redis://redis:6379",
      MAILROOM_JWT_SECRET: "a-secret",
    });
    expect(node.healthcheck?.test.join(" ")).toContain("/readyz");
    expect(seconds(node.stop_grace_period ?? "0s")).toBeGreaterThanOrEqual(10);
  });

  it("refuses to start without MAILROOM_JWT_SECRET, saying so", async () => {
    await expect(composeConfig({})).rejects.toThrow(/MAILROOM_JWT_SECRET/);
  });

  it("publishes the load balancer on port 8080 with the repo's deploy/haproxy.cfg", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" });
    const lb = services.lb as ComposeService;
    expect(lb.ports).toContainEqual(expect.objectContaining({ published: expect.anything(), target: 8080 }));
    const published = (lb.ports ?? []).map((port) => (typeof port === "string" ? port : String(port.published)));
    expect(published).toContain("8080");
    expect(lb.volumes).toContainEqual(`${HAPROXY_CONFIG}:/usr/local/etc/haproxy/haproxy.cfg:ro`);
  });
});

describe("the nodes' healthchecks", () => {
  it("exit 0 while the node is ready and 1 when nothing answers, for compose's command and the Dockerfile's", async () => {
    const compose = parse(readFileSync(COMPOSE_FILE, "utf8")).services.node.healthcheck.test as string[];
    const dockerfile = dockerfileHealthcheck();
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url });
    const nothingThere = await freePort();

    expect(await healthcheckExitCode(compose, node.port)).toBe(0);
    expect(await healthcheckExitCode(dockerfile, node.port)).toBe(0);
    expect(await healthcheckExitCode(compose, nothingThere)).toBe(1);
    expect(await healthcheckExitCode(dockerfile, nothingThere)).toBe(1);
  });

  it("exit 1 while the node is up but not ready (its Redis is down)", async () => {
    const compose = parse(readFileSync(COMPOSE_FILE, "utf8")).services.node.healthcheck.test as string[];
    const redis = await startRedis();
    const node = await startNode({ redisUrl: redis.url });

    await redis.kill();

    await expect.poll(() => healthcheckExitCode(compose, node.port), { timeout: 15_000 }).toBe(1);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });
});

describe.skipIf(!HAPROXY)("deploy/haproxy.cfg", () => {
  it("is valid for HAProxy with compose's values (the file's defaults)", async () => {
    const { stdout, stderr } = await run("haproxy", ["-c", "-f", HAPROXY_CONFIG]);
    expect(`${stdout}${stderr}`).toContain("Configuration file is valid");
  });
});
