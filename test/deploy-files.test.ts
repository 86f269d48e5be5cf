/**
 * The deployment files say what docs/deployment.md promises: `docker-compose config` (when the binary is
 * installed; .ci/run installs it) shows Redis with AOF fsynced every second and noeviction on a volume,
 * nodes on 0.0.0.0 with auth required, a /readyz healthcheck and a grace period above the 10 s drain, and
 * the load balancer on 8080 with the repo's haproxy.cfg. The nodes' healthcheck commands (compose's and the
 * Dockerfile's) are run for real against a node, and `haproxy -c` checks the config with compose's values.
 * docker-compose.cluster.yml and docker-compose.sentinel.yml are held to the same, plus their Redis
 * topology and the nodes' Redis mode; their shell snippets (the command line each Redis node is started
 * with, the Sentinels' generated configuration, the cluster's one-shot creation) run here with stand-ins
 * for the redis image's entrypoint and for redis-cli, since there is no Docker engine to run them in.
 */
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { onCleanup } from "./helpers/cleanup.js";
import { HAPROXY_CONFIG, haproxyInstalled } from "./helpers/haproxy.js";
import { startNode } from "./helpers/nodes.js";
import { freePort } from "./helpers/ports.js";
import { startRedis } from "./helpers/redis.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const COMPOSE_FILE = `${ROOT}docker-compose.yml`;
const CLUSTER_COMPOSE_FILE = `${ROOT}docker-compose.cluster.yml`;
const SENTINEL_COMPOSE_FILE = `${ROOT}docker-compose.sentinel.yml`;
const CLUSTER_REDIS_NODES = ["redis-1", "redis-2", "redis-3", "redis-4", "redis-5", "redis-6"];
const SENTINELS = ["sentinel-1", "sentinel-2", "sentinel-3"];
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
  image?: string;
  hostname?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  ports?: Array<string | { published: number | string; target: number }>;
  volumes?: Array<string | { source?: string; target: string }>;
  stop_grace_period?: string;
  build?: unknown;
}

/** `docker-compose config` with `env`, parsed: the file as Compose itself resolves it. */
async function composeConfig(
  env: Record<string, string>,
  file = COMPOSE_FILE,
): Promise<{ services: Record<string, ComposeService> }> {
  const { stdout } = await run("docker-compose", ["-f", file, "config"], {
    env: { ...withoutComposeVariables(process.env), ...env },
  });
  return parse(stdout);
}

function withoutComposeVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { MAILROOM_JWT_SECRET: _secret, LOG_LEVEL: _level, MAILROOM_REDIS_WAIT_REPLICAS: _waitReplicas, ...rest } = env;
  return rest;
}

/** A resolved service by name; fails the test when the file has no such service. */
function service(services: Record<string, ComposeService>, name: string): ComposeService {
  const found = services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

/** A Redis service's command line, one string: "--appendonly yes" reads as it would be typed. */
function redisArguments(redis: ComposeService): string {
  return (redis.command ?? []).join(" ");
}

/** A temporary folder, deleted after the test. */
function temporaryFolder(prefix: string): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(folder, { recursive: true, force: true }));
  return folder;
}

/** Writes an executable shell script named `name` into `folder`. */
function writeScript(folder: string, name: string, body: string): void {
  const path = join(folder, name);
  writeFileSync(path, `#!/bin/sh\n${body}`);
  chmodSync(path, 0o755);
}

/**
 * Runs a service's entrypoint and command as its container would, without Docker: `$$` is a `$` (Compose's
 * escape), `data` stands in for /data (the image's working directory), HOSTNAME is the service's
 * `hostname:` as Docker sets it, and `bin`, first on the PATH, holds the stand-ins the test wrote. An
 * entrypoint left to the image is the image's docker-entrypoint.sh, which runs any command but
 * redis-server unchanged. Resolves to stdout.
 */
async function runLikeContainer(redis: ComposeService, data: string, bin: string): Promise<string> {
  const argv = [...(redis.entrypoint ?? ["docker-entrypoint.sh"]), ...(redis.command ?? [])].map((argument) =>
    argument.replaceAll("$$", "$").replaceAll("/data/", `${data}/`),
  );
  const [binary, ...args] = argv;
  const { stdout } = await run(binary as string, args, {
    cwd: data,
    env: { PATH: `${bin}:${process.env.PATH}`, HOSTNAME: redis.hostname ?? "" },
    timeout: 10_000,
  });
  return stdout;
}

/**
 * The arguments the redis image's docker-entrypoint.sh is handed when `redis` starts (so, what redis-server
 * runs with): a stand-in for it prints them, one a line.
 */
async function imageEntrypointArguments(redis: ComposeService, data: string): Promise<string[]> {
  const bin = temporaryFolder("mailroom-compose-bin-");
  writeScript(bin, "docker-entrypoint.sh", `printf '%s\\n' "$@"\n`);
  return (await runLikeContainer(redis, data, bin)).trimEnd().split("\n");
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
    expect(seconds(node.stop_grace_period ?? "0s")).toBeGreaterThan(10);
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

describe.skipIf(!COMPOSE).each([
  ["docker-compose.cluster.yml", CLUSTER_COMPOSE_FILE],
  ["docker-compose.sentinel.yml", SENTINEL_COMPOSE_FILE],
])("%s: the nodes and the load balancer, as docker-compose.yml has them", (_name, file) => {
  it("builds the nodes from the Dockerfile, on 0.0.0.0 with the JWT secret, with docker-compose.yml's /readyz healthcheck and a grace period above the 10 s drain", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "a-secret" }, file);
    const standalone = await composeConfig({ MAILROOM_JWT_SECRET: "a-secret" });
    const node = service(services, "node");
    expect(node.build).toBeDefined();
    expect(node.environment).toMatchObject({ HOST: "0.0.0.0", MAILROOM_JWT_SECRET: "a-secret" });
    expect(node.environment).not.toHaveProperty("MAILROOM_INSECURE");
    expect(node.healthcheck).toEqual(service(standalone.services, "node").healthcheck);
    expect(seconds(node.stop_grace_period ?? "0s")).toBeGreaterThan(10);
  });

  it("waits for one replica's acknowledgement of each write unless MAILROOM_REDIS_WAIT_REPLICAS says otherwise", async () => {
    const byDefault = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" }, file);
    const withZero = await composeConfig({ MAILROOM_JWT_SECRET: "dummy", MAILROOM_REDIS_WAIT_REPLICAS: "0" }, file);
    expect(service(byDefault.services, "node").environment).toMatchObject({ MAILROOM_REDIS_WAIT_REPLICAS: "1" });
    expect(service(withZero.services, "node").environment).toMatchObject({ MAILROOM_REDIS_WAIT_REPLICAS: "0" });
  });

  it("refuses to start without MAILROOM_JWT_SECRET, saying so", async () => {
    await expect(composeConfig({}, file)).rejects.toThrow(/MAILROOM_JWT_SECRET/);
  });

  it("puts docker-compose.yml's load balancer, unchanged, in front of the nodes", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" }, file);
    const standalone = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" });
    expect(service(services, "lb")).toEqual(service(standalone.services, "lb"));
  });
});

describe.skipIf(!COMPOSE)("docker-compose.cluster.yml, as `docker-compose config` resolves it", () => {
  it("runs six Redis nodes in cluster mode with an append-only file fsynced every second, noeviction, and each its data on a volume", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" }, CLUSTER_COMPOSE_FILE);
    for (const name of CLUSTER_REDIS_NODES) {
      const redis = service(services, name);
      const command = redisArguments(redis);
      expect(redis.image).toBe("redis:7");
      expect(command).toMatch(/^redis-server /);
      expect(command).toContain("--cluster-enabled yes");
      expect(command).toContain("--appendonly yes");
      expect(command).toContain("--appendfsync everysec");
      expect(command).toContain("--maxmemory-policy noeviction");
      expect(redis.volumes).toContainEqual(expect.stringMatching(new RegExp(`^${name}-data:/data(:rw)?$`)));
      expect(redis.healthcheck?.test).toEqual(["CMD", "redis-cli", "ping"]);
    }
  });

  it("starts each Redis node announcing its compose hostname, so that clients are sent to names the network resolves", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" }, CLUSTER_COMPOSE_FILE);
    for (const name of CLUSTER_REDIS_NODES) {
      const redis = service(services, name);
      expect(redis.hostname).toBe(name);
      const started = await imageEntrypointArguments(redis, temporaryFolder("mailroom-compose-data-"));
      expect(started.join(" ")).toBe(`${redisArguments(redis)} --cluster-announce-hostname ${name}`);
      expect(started.join(" ")).toContain("--cluster-preferred-endpoint-type hostname");
    }
  });

  it("makes the six one cluster, three masters with a replica each, once all six are healthy", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" }, CLUSTER_COMPOSE_FILE);
    const init = service(services, "redis-cluster-init");
    const script = (init.command ?? []).join(" ").replace(/\\\n\s*/g, "");
    const seeds = CLUSTER_REDIS_NODES.map((name) => `${name}:6379`).join(" ");
    expect(script).toContain(`redis-cli --cluster create ${seeds} --cluster-replicas 1 --cluster-yes`);
    for (const name of CLUSTER_REDIS_NODES) expect(init.depends_on?.[name]).toEqual({ condition: "service_healthy" });
  });

  it("creates the cluster on the first `up` only: a later run finds the slots assigned and exits 0 at once", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" }, CLUSTER_COMPOSE_FILE);
    const init = service(services, "redis-cluster-init");
    const data = temporaryFolder("mailroom-compose-data-");
    const bin = temporaryFolder("mailroom-compose-bin-");
    writeScript(bin, "docker-entrypoint.sh", 'exec "$@"\n');
    // A Redis Cluster in miniature: `--cluster create` makes it exist; `cluster info` and `info replication`
    // answer what six nodes in one cluster would. Every call is written to calls.log.
    writeScript(
      bin,
      "redis-cli",
      `echo "$*" >> ${data}/calls.log
case "$*" in
  *"--cluster create"*) touch ${data}/created ;;
  *"cluster info"*) if [ -f ${data}/created ]; then printf 'cluster_state:ok\\r\\ncluster_slots_assigned:16384\\r\\n'; else printf 'cluster_state:fail\\r\\ncluster_slots_assigned:0\\r\\n'; fi ;;
  *"info replication"*) printf 'role:master\\r\\n' ;;
esac
`,
    );
    const calls = () => readFileSync(`${data}/calls.log`, "utf8").trimEnd().split("\n");

    expect(await runLikeContainer(init, data, bin)).toContain("the Redis Cluster is ready");
    expect(calls().filter((call) => call.includes("--cluster create"))).toHaveLength(1);
    const afterFirst = calls().length;

    expect(await runLikeContainer(init, data, bin)).toContain("the Redis Cluster exists already");
    expect(calls().slice(afterFirst)).toEqual(["-h redis-1 cluster info"]);
  });

  it("starts the nodes in cluster mode with all six seeds and the sharded adapter, once the cluster is made", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" }, CLUSTER_COMPOSE_FILE);
    const node = service(services, "node");
    expect(node.environment).toMatchObject({
      MAILROOM_REDIS_MODE: "cluster",
      REDIS_URL: CLUSTER_REDIS_NODES.map((name) => `redis://${name}:6379`).join(","),
      MAILROOM_ADAPTER: "sharded",
    });
    expect(node.depends_on).toEqual({ "redis-cluster-init": { condition: "service_completed_successfully" } });
  });
});

describe.skipIf(!COMPOSE)("docker-compose.sentinel.yml, as `docker-compose config` resolves it", () => {
  it("runs a Redis master and its replica with an append-only file fsynced every second, noeviction, each its data on a volume and announcing its compose hostname", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" }, SENTINEL_COMPOSE_FILE);
    for (const name of ["redis-1", "redis-2"]) {
      const redis = service(services, name);
      const command = redisArguments(redis);
      expect(redis.image).toBe("redis:7");
      expect(command).toMatch(/^redis-server /);
      expect(command).toContain("--appendonly yes");
      expect(command).toContain("--appendfsync everysec");
      expect(command).toContain("--maxmemory-policy noeviction");
      expect(command).toContain(`--replica-announce-ip ${name}`);
      expect(redis.volumes).toContainEqual(expect.stringMatching(new RegExp(`^${name}-data:/data(:rw)?$`)));
      expect(redis.healthcheck?.test).toEqual(["CMD", "redis-cli", "ping"]);
    }
    expect(redisArguments(service(services, "redis-1"))).not.toContain("--replicaof");
    expect(redisArguments(service(services, "redis-2"))).toContain("--replicaof redis-1 6379");
  });

  it("runs three Sentinels, each with its data on a volume and healthy once it can authorize a failover of mymaster", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" }, SENTINEL_COMPOSE_FILE);
    for (const name of SENTINELS) {
      const sentinel = service(services, name);
      expect(sentinel.image).toBe("redis:7");
      expect(sentinel.hostname).toBe(name);
      expect(sentinel.volumes).toContainEqual(expect.stringMatching(new RegExp(`^${name}-data:/data(:rw)?$`)));
      expect(sentinel.healthcheck?.test.join(" ")).toContain("redis-cli -p 26379 sentinel ckquorum mymaster");
    }
  });

  it("writes each Sentinel's configuration on its first start only: hostnames resolved and announced, mymaster at redis-1 with a quorum of 2", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" }, SENTINEL_COMPOSE_FILE);
    const sentinel = service(services, "sentinel-2");
    const data = temporaryFolder("mailroom-compose-data-");

    expect(await imageEntrypointArguments(sentinel, data)).toEqual([
      "redis-server",
      `${data}/sentinel.conf`,
      "--sentinel",
    ]);
    expect(readFileSync(`${data}/sentinel.conf`, "utf8").split("\n")).toEqual([
      "sentinel resolve-hostnames yes",
      "sentinel announce-hostnames yes",
      "sentinel announce-ip sentinel-2",
      "sentinel monitor mymaster redis-1 6379 2",
      "sentinel down-after-milliseconds mymaster 5000",
      "sentinel failover-timeout mymaster 60000",
      "",
    ]);

    // What a Sentinel rewrote after a failover is kept on its next start.
    writeFileSync(`${data}/sentinel.conf`, "sentinel monitor mymaster redis-2 6379 2\n");
    await imageEntrypointArguments(sentinel, data);
    expect(readFileSync(`${data}/sentinel.conf`, "utf8")).toBe("sentinel monitor mymaster redis-2 6379 2\n");
  });

  it("starts the nodes in sentinel mode with the three Sentinels and the master's name, once the Sentinels are healthy", async () => {
    const { services } = await composeConfig({ MAILROOM_JWT_SECRET: "dummy" }, SENTINEL_COMPOSE_FILE);
    const node = service(services, "node");
    expect(node.environment).toMatchObject({
      MAILROOM_REDIS_MODE: "sentinel",
      REDIS_URL: SENTINELS.map((name) => `redis://${name}:26379`).join(","),
      MAILROOM_REDIS_SENTINEL_MASTER: "mymaster",
    });
    expect(node.environment).not.toHaveProperty("MAILROOM_ADAPTER");
    for (const name of SENTINELS) expect(node.depends_on?.[name]).toEqual({ condition: "service_healthy" });
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
