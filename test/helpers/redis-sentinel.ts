/**
 * A real Redis Sentinel deployment of the test's own: a master, replicas of it (`--replicaof`, one by
 * default), and sentinels (3 by default, quorum a majority) watching it under one name, all `redis-server`
 * processes on free ports with their files in one temporary directory. Killed (SIGKILL) and the directory
 * removed after the test. Sentinels call a master down after 1 s of silence, so a failover takes a few
 * seconds.
 *
 * Binaries only, no Docker: sentinels hand clients the addresses they see, which for containers are
 * addresses the test cannot reach unless every process announces a host-reachable one; the binaries on
 * 127.0.0.1 need none of that and run wherever `redis-server` is installed (`.ci/run` installs it).
 *
 * With two replicas or more, the sentinels point the ones left at the promoted master after a failover, so
 * it has replicas again (what `WAIT 1` needs); with one, the promoted master has none.
 *
 * The data servers keep no data on disk: a killed one stays down (there is no restart here, since a server
 * restarted empty as master before the failover would wipe its replica).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onCleanup } from "./cleanup.js";
import { freePort } from "./ports.js";
import { ask, infoField, launchRedisServer, type RedisProcess, requireBinaries, roleOf } from "./redis-processes.js";
import { waitFor } from "./wait.js";

/** How long a master may stay silent before a sentinel calls it down. */
const DOWN_AFTER_MS = 1000;
/** Sentinel's bound on one failover; a failed attempt is retried after twice this. */
const FAILOVER_TIMEOUT_MS = 3000;
/** Bound on sentinels agreeing on a new master: one failed election costs 2 × FAILOVER_TIMEOUT_MS. */
const WAIT_FOR_FAILOVER_MS = 30_000;
/** Bound on the deployment settling at start: sentinels find each other through hellos every 2 s. */
const READY_TIMEOUT_MS = 20_000;
/** What `redis-server --sentinel` prints once it watches its master (it prints no "Ready" line). */
const SENTINEL_READY_LINE = "+monitor master";

export interface RedisSentinelOptions {
  /** The name the sentinels know the master by. @default "mymaster" */
  masterName?: string;
  /** Sentinel processes; the quorum is a majority of them. @default 3 */
  sentinels?: number;
  /** Replicas of the master. @default 1 */
  replicas?: number;
  /** Stop it after the current test (false: the caller stops it, e.g. in `afterAll`). @default true */
  stopAfterTest?: boolean;
}

/** A data server (master or replica) of the deployment. */
export interface SentinelDataServer {
  readonly port: number;
  /** redis://127.0.0.1:port */
  readonly url: string;
  /** What the server says it is now (ROLE); fails once it is killed. */
  role(): Promise<"master" | "replica">;
  /** Whether the process still runs. */
  live(): boolean;
  /** Stops the server at once (SIGKILL). */
  kill(): Promise<void>;
}

export interface RedisSentinelDeployment {
  readonly masterName: string;
  /** redis://127.0.0.1:port of every sentinel. */
  readonly sentinelUrls: readonly string[];
  /** Every sentinel as `{ host, port }`, the shape of ioredis's `sentinels` option. */
  readonly sentinelAddresses: readonly { host: string; port: number }[];
  /** The data servers: the first started as master, the others as its replicas. */
  readonly servers: readonly SentinelDataServer[];
  /** The data server the sentinels name master now (SENTINEL GET-MASTER-ADDR-BY-NAME, first that answers). */
  master(): Promise<SentinelDataServer>;
  /** SIGKILLs the current master; resolves with it (its port is what `waitForFailover` takes). */
  killMaster(): Promise<SentinelDataServer>;
  /** Waits until every sentinel names one master other than `oldPort` and that server reports master. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<SentinelDataServer>;
  stop(): Promise<void>;
}

export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelDeployment> {
  const {
    masterName = "mymaster",
    sentinels: sentinelCount = 3,
    replicas: replicaCount = 1,
    stopAfterTest = true,
  } = options;
  if (replicaCount < 1)
    throw new Error(`a Sentinel deployment needs at least 1 replica to fail over to, not ${replicaCount}`);
  requireBinaries(["redis-server"]);
  const directory = mkdtempSync(join(tmpdir(), "mailroom-redis-sentinel-"));
  const processes: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((started) => started.kill()));
    rmSync(directory, { recursive: true, force: true });
  };
  if (stopAfterTest) onCleanup(stop);
  const launch = async (args: string[], readyLine?: string) => {
    const started = await launchRedisServer(args, readyLine);
    processes.push(started);
    return started;
  };
  try {
    const masterPort = await freePort();
    const master = dataServer(masterPort, await launch(dataServerArguments(masterPort, directory)));
    const replicas: SentinelDataServer[] = [];
    for (let index = 0; index < replicaCount; index++) {
      const replicaPort = await freePort();
      const replicaArguments = [
        ...dataServerArguments(replicaPort, directory),
        "--replicaof",
        "127.0.0.1",
        `${masterPort}`,
      ];
      replicas.push(dataServer(replicaPort, await launch(replicaArguments)));
    }
    const sentinelPorts: number[] = [];
    for (let index = 0; index < sentinelCount; index++) {
      const port = await freePort();
      const configFile = writeSentinelConfig(port, directory, masterName, masterPort, sentinelCount);
      await launch([configFile, "--sentinel"], SENTINEL_READY_LINE);
      sentinelPorts.push(port);
    }
    const deployment = new ManagedDeployment(masterName, sentinelPorts, [master, ...replicas], stop);
    await deployment.waitReady(
      masterPort,
      replicas.map((replica) => replica.port),
    );
    return deployment;
  } catch (error) {
    await stop();
    throw error;
  }
}

function dataServerArguments(port: number, directory: string): string[] {
  const serverDirectory = join(directory, `server-${port}`);
  mkdirSync(serverDirectory);
  return [
    ...["--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "no", "--dir", serverDirectory],
    ...["--save", "", "--appendonly", "no"],
    // Redis 7 waits 5 s for more replicas before a full sync; a test has no time to wait.
    ...["--repl-diskless-sync-delay", "0"],
  ];
}

/** Writes a sentinel's config file (sentinels rewrite theirs, so each has its own) and returns its path. */
function writeSentinelConfig(
  port: number,
  directory: string,
  masterName: string,
  masterPort: number,
  sentinelCount: number,
): string {
  const quorum = Math.floor(sentinelCount / 2) + 1;
  const file = join(directory, `sentinel-${port}.conf`);
  const lines = [
    `port ${port}`,
    "bind 127.0.0.1",
    "protected-mode no",
    `dir ${directory}`,
    "sentinel resolve-hostnames no",
    `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} ${quorum}`,
    `sentinel down-after-milliseconds ${masterName} ${DOWN_AFTER_MS}`,
    `sentinel failover-timeout ${masterName} ${FAILOVER_TIMEOUT_MS}`,
    `sentinel parallel-syncs ${masterName} 1`,
  ];
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

function dataServer(port: number, server: RedisProcess): SentinelDataServer {
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    role: () => roleOf(port) as Promise<"master" | "replica">,
    live: () => server.running(),
    kill: () => server.kill(),
  };
}

/** SENTINEL MASTER / REPLICAS answer each entry as a flat [field, value, field, value, ...] list. */
function fields(entry: unknown): Map<string, string> {
  const list = entry as string[];
  const map = new Map<string, string>();
  for (let index = 0; index + 1 < list.length; index += 2) map.set(String(list[index]), String(list[index + 1]));
  return map;
}

class ManagedDeployment implements RedisSentinelDeployment {
  readonly sentinelUrls: readonly string[];
  readonly sentinelAddresses: readonly { host: string; port: number }[];

  constructor(
    readonly masterName: string,
    private readonly sentinelPorts: readonly number[],
    readonly servers: readonly SentinelDataServer[],
    readonly stop: () => Promise<void>,
  ) {
    this.sentinelUrls = sentinelPorts.map((port) => `redis://127.0.0.1:${port}`);
    this.sentinelAddresses = sentinelPorts.map((port) => ({ host: "127.0.0.1", port }));
  }

  async master(): Promise<SentinelDataServer> {
    let lastError: unknown;
    for (const sentinelPort of this.sentinelPorts) {
      try {
        return this.serverOn(await this.masterPortPer(sentinelPort));
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error("no sentinel named the master", { cause: lastError });
  }

  async killMaster(): Promise<SentinelDataServer> {
    const master = await this.master();
    await master.kill();
    return master;
  }

  async waitForFailover(oldPort: number, timeoutMs = WAIT_FOR_FAILOVER_MS): Promise<SentinelDataServer> {
    return waitFor(
      async () => {
        const named = new Set(await Promise.all(this.sentinelPorts.map((port) => this.masterPortPer(port))));
        const [port] = named;
        if (named.size !== 1 || port === undefined || port === oldPort) return false;
        const server = this.serverOn(port);
        return (await server.role()) === "master" && server;
      },
      { timeoutMs, intervalMs: 100, what: `the sentinels to promote a master other than ${oldPort}` },
    );
  }

  /** Waits until the replicas are in sync and every sentinel knows the master, the replicas and the other sentinels. */
  async waitReady(masterPort: number, replicaPorts: readonly number[]): Promise<void> {
    await waitFor(
      async () => {
        for (const replicaPort of replicaPorts) {
          const replication = await ask(replicaPort, "INFO", "replication");
          const link = infoField(replication, "master_link_status");
          if (link !== "up") throw new Error(`replica ${replicaPort} is not in sync`);
        }
        for (const sentinelPort of this.sentinelPorts) {
          const problem = await this.sentinelProblem(sentinelPort, masterPort, replicaPorts);
          if (problem) throw new Error(`sentinel ${sentinelPort}: ${problem}`);
        }
        return true;
      },
      {
        timeoutMs: READY_TIMEOUT_MS,
        intervalMs: 100,
        what: "the Sentinel deployment (the cause names what was missing)",
      },
    );
  }

  private async sentinelProblem(sentinelPort: number, masterPort: number, replicaPorts: readonly number[]) {
    const master = fields(await ask(sentinelPort, "SENTINEL", "MASTER", this.masterName));
    if (master.get("port") !== String(masterPort) || master.get("flags") !== "master") {
      return `sees master ${master.get("port")} with flags ${master.get("flags")}`;
    }
    const otherSentinels = Number(master.get("num-other-sentinels"));
    if (otherSentinels !== this.sentinelPorts.length - 1) return `knows ${otherSentinels} other sentinels`;
    const replicas = ((await ask(sentinelPort, "SENTINEL", "REPLICAS", this.masterName)) as unknown[]).map(fields);
    for (const replicaPort of replicaPorts) {
      const replica = replicas.find((entry) => entry.get("port") === String(replicaPort));
      if (replica?.get("flags") !== "slave") return `sees replica ${replicaPort} with flags ${replica?.get("flags")}`;
    }
    return undefined;
  }

  private async masterPortPer(sentinelPort: number): Promise<number> {
    const address = await ask(sentinelPort, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", this.masterName);
    const [, port] = address as [host: string, port: string];
    return Number(port);
  }

  private serverOn(port: number): SentinelDataServer {
    const server = this.servers.find((candidate) => candidate.port === port);
    if (!server) throw new Error(`no data server of this deployment listens on port ${port}`);
    return server;
  }
}
