/**
 * Mailroom nodes as real processes, started from the built CLI (`mailroom serve`) on free ports.
 * `kill` is SIGKILL (a crash), `stop` is SIGTERM (a graceful close), `restart` starts the node again
 * on the same port. Tests shorten heartbeats so a killed node drops out in about a second. A node is
 * started once `/readyz` answers 200, or, for tests of a node whose store is away, once it listens.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { onCleanup } from "./cleanup.js";
import { freePort } from "./ports.js";
import { freshPrefix, startRedis } from "./redis.js";
import { waitFor } from "./wait.js";

const CLI = fileURLToPath(new URL("../../packages/cli/bin/mailroom.js", import.meta.url));

/** Test timing: a node missing heartbeats for this long is dead. */
export const TEST_NODE_TIMEOUT_MS = 1500;
const TEST_HEARTBEAT_INTERVAL_MS = 250;
/** Test timing: a stopped node drains this long (tests of the drain itself set their own). */
const TEST_DRAIN_DELAY_MS = 100;

export interface NodeOptions {
  redisUrl?: string;
  prefix?: string;
  port?: number;
  /** Address to listen on (any of 127.0.0.0/8 is loopback); 127.0.0.1 unless given. */
  host?: string;
  env?: Record<string, string>;
  args?: string[];
  /** The `mailroom` launcher to run (helpers/previous-release.ts: an earlier release's). @default this checkout's */
  cli?: string;
  /** What `startNode` waits for: `/readyz` answering 200, or `/healthz` (the node listens). @default "ready" */
  until?: "ready" | "listening";
}

export interface NodeHandle {
  readonly port: number;
  readonly url: string;
  /** Everything the process printed so far. */
  output(): string;
  /** The process id of the running node, if one runs. */
  pid(): number | undefined;
  kill(): Promise<void>;
  stop(): Promise<number | null>;
  restart(): Promise<void>;
}

export async function startNode(options: NodeOptions = {}): Promise<NodeHandle> {
  const port = options.port ?? (await freePort());
  const host = options.host ?? "127.0.0.1";
  let child: ChildProcess | undefined;
  let output = "";

  const launch = async () => {
    const args = [options.cli ?? CLI, "serve", "--port", String(port), ...(options.args ?? [])];
    if (options.redisUrl) args.push("--redis", options.redisUrl);
    if (options.prefix) args.push("--redis-prefix", options.prefix);
    if (options.host) args.push("--host", options.host);
    child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        MAILROOM_HEARTBEAT_INTERVAL_MS: String(TEST_HEARTBEAT_INTERVAL_MS),
        MAILROOM_NODE_TIMEOUT_MS: String(TEST_NODE_TIMEOUT_MS),
        MAILROOM_DRAIN_DELAY_MS: String(TEST_DRAIN_DELAY_MS),
        ...options.env,
      },
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const started = child;
    const exited = new Promise<never>((_resolve, reject) => {
      started.once("exit", (code) => reject(new Error(`node exited with ${code} before it was ready:\n${output}`)));
    });
    exited.catch(() => {});
    const route = options.until === "listening" ? "healthz" : "readyz";
    const ready = waitFor(
      async () => {
        const response = await fetch(`http://${host}:${port}/${route}`);
        return response.status === 200;
      },
      { timeoutMs: 15_000, what: `node on ${host}:${port} to answer /${route}` },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${output}`);
    });
    await Promise.race([ready, exited]);
  };

  const handle: NodeHandle = {
    port,
    url: `http://${host}:${port}`,
    output: () => output,
    pid: () => child?.pid,
    async kill() {
      if (child) await signalAndWait(child, "SIGKILL");
      child = undefined;
    },
    async stop() {
      if (!child) return null;
      const code = await signalAndWait(child, "SIGTERM");
      child = undefined;
      return code;
    },
    async restart() {
      await handle.kill();
      await launch();
    },
  };
  onCleanup(() => handle.kill());
  await launch();
  return handle;
}

/** Starts a Redis of the test's own and two nodes on it, with a fresh key prefix. */
export async function startTwoNodesOnRedis(): Promise<[NodeHandle, NodeHandle]> {
  const redis = await startRedis();
  const [nodeA, nodeB] = await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() });
  return [nodeA as NodeHandle, nodeB as NodeHandle];
}

/** Starts `count` nodes on one Redis with one key prefix. */
export async function startCluster(count: number, options: NodeOptions): Promise<NodeHandle[]> {
  return Promise.all(Array.from({ length: count }, () => startNode(options)));
}

function signalAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill(signal);
  });
}
