/**
 * A Redis server of the test's own: a testcontainers container when a Docker engine answers, else the
 * `redis-server` binary from the PATH on a free port (set MAILROOM_TEST_REDIS=binary or =container to
 * force one). Never the shared 6379, never a FLUSH: each test also takes a fresh key prefix.
 * `kill` and `restart` serve the fault tests: the server comes back on the same port, empty, unless it
 * was started with an append-only file (`appendfsync`), which it then reloads. `pause` and `resume`
 * (SIGSTOP, SIGCONT; binary only) make a Redis that holds its connections open and answers nothing.
 * A server may require a password (`requirepass`) and take a given port (one a node already dials).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onCleanup } from "./cleanup.js";
import { freePort } from "./ports.js";

export interface RedisOptions {
  /**
   * Keep an append-only file in a fresh temporary directory, fsynced at every write (`always`) or once a
   * second (`everysec`), so a restart reloads the data. Forces the binary. @default no persistence
   */
  appendfsync?: "always" | "everysec";
  /** The password clients must give (`AUTH`); `url` carries none. @default none */
  requirepass?: string;
  /** The port to listen on. @default a free one */
  port?: number;
}

export interface RedisHandle {
  readonly port: number;
  readonly url: string;
  /** Stops the server at once (SIGKILL, or container kill). */
  kill(): Promise<void>;
  /** Starts it again on the same port (with no data, or with what its append-only file kept). */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open, nothing is answered. Binary only. */
  pause(): void;
  /** Lets a paused process run again (SIGCONT). */
  resume(): void;
  stop(): Promise<void>;
}

interface RedisProcess {
  kill(): Promise<void>;
  signal?(signal: NodeJS.Signals): void;
}

type Launcher = (port: number, options?: RedisOptions) => Promise<RedisProcess>;

/** A key prefix no other test uses. */
export function freshPrefix(): string {
  return `mrtest-${randomBytes(4).toString("hex")}`;
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisHandle> {
  const launch = options.appendfsync ? launchBinary : await pickLauncher();
  const port = options.port ?? (await freePort());
  const launchHere = () => launch(port, options);
  let current: RedisProcess | undefined = await launchHere();
  const signal = (name: NodeJS.Signals) => {
    if (!current?.signal) throw new Error("pause and resume need the redis-server binary");
    current.signal(name);
  };
  const handle: RedisHandle = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      await current?.kill();
      current = undefined;
    },
    async restart() {
      await current?.kill();
      current = await launchHere();
    },
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    async stop() {
      await handle.kill();
    },
  };
  onCleanup(() => handle.stop());
  return handle;
}

let chosen: Promise<Launcher> | undefined;

function pickLauncher(): Promise<Launcher> {
  chosen ??= (async () => {
    const forced = process.env.MAILROOM_TEST_REDIS;
    if (forced === "binary") return launchBinary;
    if (forced === "container" || (await dockerAnswers())) return launchContainer;
    return launchBinary;
  })();
  return chosen;
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function launchContainer(port: number, options: RedisOptions = {}): Promise<RedisProcess> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const container = await new GenericContainer("redis:7")
    .withExposedPorts({ container: 6379, host: port })
    .withCommand(["redis-server", "--save", "", "--appendonly", "no", ...passwordArgs(options)])
    .withWaitStrategy(Wait.forLogMessage("Ready to accept connections"))
    .start();
  return { kill: async () => void (await container.stop({ timeout: 0 })) };
}

/** Data directories of append-only servers, by port: a restart reloads the same one. */
const dataDirectories = new Map<number, string>();

function passwordArgs({ requirepass }: RedisOptions): string[] {
  return requirepass === undefined ? [] : ["--requirepass", requirepass];
}

function persistenceArgs(port: number, { appendfsync }: RedisOptions): string[] {
  if (!appendfsync) return ["--appendonly", "no"];
  let directory = dataDirectories.get(port);
  if (!directory) {
    const created = mkdtempSync(join(tmpdir(), "mailroom-redis-"));
    directory = created;
    dataDirectories.set(port, created);
    onCleanup(() => {
      dataDirectories.delete(port);
      rmSync(created, { recursive: true, force: true });
    });
  }
  return ["--appendonly", "yes", "--appendfsync", appendfsync, "--dir", directory];
}

async function launchBinary(port: number, options: RedisOptions = {}): Promise<RedisProcess> {
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      ...persistenceArgs(port, options),
      ...passwordArgs(options),
      "--protected-mode",
      "no",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) resolve();
    };
    child.stdout?.on("data", onData);
    child.once("error", (error) => reject(new Error(`could not start redis-server: ${error.message}`)));
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
  child.stdout?.resume();
  return {
    kill: () => killAndWait(child),
    signal: (signal) => {
      child.kill(signal);
    },
  };
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}
