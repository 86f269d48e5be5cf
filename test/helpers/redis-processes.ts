/**
 * The plumbing shared by the Redis Cluster and Sentinel helpers: `redis-server` processes started from the
 * binary on the PATH (each one's output kept for the error when it dies), and one-shot commands sent to a
 * server by port. Commands give up after a short timeout, so a paused (SIGSTOPped) server makes a call fail
 * rather than hang. Nothing here registers cleanup: the helpers that start processes own them.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { Redis } from "ioredis";

/** How long a one-shot command may take: a local server answers in well under a millisecond. */
const COMMAND_TIMEOUT_MS = 2000;
/** How long a process may take to print its ready line. */
const START_TIMEOUT_MS = 10_000;
/** How much of a process's output to keep for an error message. */
const KEPT_OUTPUT_CHARACTERS = 4000;

/** The line `redis-server` prints once it accepts connections (7.2 adds " tcp"). */
export const SERVER_READY_LINE = "Ready to accept connections";

/** Fails with what to install unless every one of `binaries` runs from the PATH. */
export function requireBinaries(binaries: readonly string[]): void {
  for (const binary of binaries) {
    try {
      execFileSync(binary, ["--version"], { stdio: "ignore" });
    } catch {
      throw new Error(
        `${binary} is not on the PATH: the Redis Cluster and Sentinel test helpers run the Redis binaries ` +
          "(no Docker). Install Redis (Debian: apt-get install redis-server, which brings redis-cli; .ci/run does this)",
      );
    }
  }
}

export interface RedisProcess {
  /** Whether the process has not exited yet. */
  running(): boolean;
  /** SIGKILL, resolved once the process has exited. */
  kill(): Promise<void>;
  signal(name: NodeJS.Signals): void;
}

/**
 * Spawns `redis-server args` and resolves once it printed `readyLine`; rejects with its output if it exits
 * first or stays silent too long (and kills it then).
 */
export async function launchRedisServer(args: readonly string[], readyLine = SERVER_READY_LINE): Promise<RedisProcess> {
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-KEPT_OUTPUT_CHARACTERS);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const handle: RedisProcess = {
    running: () => child.exitCode === null && child.signalCode === null,
    kill: () => killAndWait(child),
    signal: (name) => {
      child.kill(name);
    },
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`redis-server ${args.join(" ")} was not ready within ${START_TIMEOUT_MS} ms: ${output}`)),
        START_TIMEOUT_MS,
      );
      child.stdout?.on("data", () => {
        if (output.includes(readyLine)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(new Error(`could not start redis-server: ${error.message}`));
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`redis-server ${args.join(" ")} exited (${code ?? signal}): ${output}`));
      });
    });
  } catch (error) {
    await handle.kill();
    throw error;
  }
  return handle;
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/** Opens a connection to the server on `port` that fails fast instead of retrying or queueing. */
export async function connectOnce(port: number): Promise<Redis> {
  const connection = new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    connectTimeout: COMMAND_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
  });
  connection.on("error", () => {});
  try {
    await connection.connect();
  } catch (error) {
    connection.disconnect();
    throw error;
  }
  return connection;
}

/** Sends one command to the server on `port` over a connection of its own, closed afterwards. */
export async function ask(port: number, command: string, ...args: (string | number)[]): Promise<unknown> {
  const connection = await connectOnce(port);
  try {
    return await connection.call(command, ...args);
  } finally {
    connection.disconnect();
  }
}

/** The value of `field` in the text of INFO or CLUSTER INFO (`field:value` lines), or undefined. */
export function infoField(info: unknown, field: string): string | undefined {
  const line = String(info)
    .split("\r\n")
    .find((candidate) => candidate.startsWith(`${field}:`));
  return line?.slice(field.length + 1);
}

/** What the server on `port` says it is (ROLE): Redis's "slave" is called replica here. */
export async function roleOf(port: number): Promise<"master" | "replica" | "sentinel"> {
  const [role] = (await ask(port, "ROLE")) as [string];
  return role === "slave" ? "replica" : (role as "master" | "sentinel");
}
