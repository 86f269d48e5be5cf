/**
 * The bench's own redis-server: started from the PATH on a free loopback port, without persistence, and
 * killed at the end. Never the shared Redis on 6379. Every system of a run uses this one server, so
 * their Redis CPU figures come from the same process on the same machine.
 *
 * Redis CPU is what the server reports in `INFO cpu` (used_cpu_user + used_cpu_sys, its main thread and
 * background threads together); `INFO commandstats` says which commands used it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { Redis } from "ioredis";
import { track } from "./child-registry.js";
import { freePort } from "./free-port.js";

/** Keys SCAN looks at per call: few round trips for the bench's small key spaces. */
const SCAN_COUNT = 1000;

export interface CommandStat {
  command: string;
  calls: number;
  /** Microseconds Redis spent in this command, all calls together. */
  usec: number;
  usecPerCall: number;
}

export class RedisServer {
  private constructor(
    readonly url: string,
    readonly port: number,
    readonly pid: number | undefined,
    private readonly child: ChildProcess,
    /** A connection for measurements only: the systems under test make their own. */
    private readonly admin: Redis,
  ) {}

  /**
   * Starts a server on `port` (a free one when not given), with `extraArgs` after the bench's own
   * (e.g. the cluster settings of infra/redis-cluster.ts). `launcher` runs it under another program
   * (e.g. valgrind, for scripts/measure-script-costs.mjs --instructions): its command and arguments go before
   * `redis-server`, and it must exec the server in the same process.
   */
  static async start(options: { port?: number; extraArgs?: string[]; launcher?: string[] } = {}): Promise<RedisServer> {
    const port = options.port ?? (await freePort());
    const [command = "redis-server", ...launcherArgs] = [...(options.launcher ?? []), "redis-server"];
    const child = spawn(
      command,
      [
        ...launcherArgs,
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
        ...(options.extraArgs ?? []),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    track(child);
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) resolve();
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("error", (error) => reject(new Error(`could not start redis-server (is it on the PATH?): ${error}`)));
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
    });
    child.stdout?.resume();
    child.stderr?.resume();
    const url = `redis://127.0.0.1:${port}`;
    return new RedisServer(url, port, child.pid, child, new Redis(url, { lazyConnect: false }));
  }

  /** used_cpu_user + used_cpu_sys of the server so far, in seconds. */
  async cpuSeconds(): Promise<number> {
    const info = await this.admin.info("cpu");
    return infoNumber(info, "used_cpu_user") + infoNumber(info, "used_cpu_sys");
  }

  /** Zeroes `INFO commandstats` (CONFIG RESETSTAT). */
  async resetStats(): Promise<void> {
    await this.admin.config("RESETSTAT");
  }

  /** `INFO commandstats` since the last reset, busiest first. */
  async commandStats(): Promise<CommandStat[]> {
    const info = await this.admin.info("commandstats");
    const stats: CommandStat[] = [];
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/gm)) {
      stats.push({
        command: match[1] ?? "",
        calls: Number(match[2]),
        usec: Number(match[3]),
        usecPerCall: Number(match[4]),
      });
    }
    return stats.sort((a, b) => b.usec - a.usec);
  }

  /** Any command, on the measurement connection (on a cluster node: that node's own, never redirected). */
  command(name: string, ...args: string[]): Promise<unknown> {
    return this.admin.call(name, ...args);
  }

  /** Every key of this server matching the glob `match` (SCAN; on a cluster node, that node's keys only). */
  async keys(match: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await this.admin.scan(cursor, "MATCH", match, "COUNT", SCAN_COUNT);
      found.push(...keys);
      cursor = next;
    } while (cursor !== "0");
    return found;
  }

  /** Bytes of memory the server uses (INFO memory used_memory). */
  async usedMemoryBytes(): Promise<number> {
    return infoNumber(await this.admin.info("memory"), "used_memory");
  }

  async stop(): Promise<void> {
    this.admin.disconnect();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.kill("SIGKILL");
    });
  }
}

function infoNumber(info: string, field: string): number {
  const match = new RegExp(`^${field}:([\\d.]+)`, "m").exec(info);
  if (!match) throw new Error(`INFO has no ${field}`);
  return Number(match[1]);
}
