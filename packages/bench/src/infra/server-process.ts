/**
 * A server the bench runs as a real child process on a free port: a Mailroom node (the built CLI's
 * `mailroom serve`) or a peer's server from peer-servers/. It is ready when an HTTP path answers 200.
 * `stop` is SIGTERM and waits for the exit (a node writes its --cpu-prof profile then); `kill` is SIGKILL.
 * For a look inside every server of a run: `BENCH_SERVER_NODE_ARGS` adds Node.js flags to each (e.g.
 * `--trace-gc`), and `BENCH_SERVER_OUTPUT_DIR` keeps each one's whole output in `<dir>/<label>.log`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { track } from "./child-registry.js";
import { freePort } from "./free-port.js";

const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 100;
/** A server that has not exited this long after SIGTERM is killed. */
const STOP_DEADLINE_MS = 12_000;

const CLI = fileURLToPath(new URL("../../../cli/bin/mailroom.js", import.meta.url));
/** Node.js flags every server gets, from the environment (space-separated). */
const EXTRA_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
/** Where each server's whole output goes, from the environment; unset: only its tail is kept, for errors. */
const OUTPUT_DIR = process.env.BENCH_SERVER_OUTPUT_DIR;

export interface ServerProcessOptions {
  /** The script run by this Node.js, and its arguments; `{port}` in them becomes the port. */
  script: string;
  args: string[];
  /** Path answering 200 once the server is ready. */
  readyPath: string;
  /** Node.js flags before the script, e.g. --cpu-prof (which NODE_OPTIONS may not carry). */
  nodeArgs?: string[];
  /** Extra environment. */
  env?: Record<string, string>;
  /** A label for errors and progress. */
  label: string;
}

export class ServerProcess {
  private output = "";

  private constructor(
    readonly label: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    const whole = OUTPUT_DIR ? join(OUTPUT_DIR, `${label.replaceAll(/[^\w.-]+/g, "_")}.log`) : undefined;
    const keep = (chunk: Buffer) => {
      // Only the tail matters, for an error message.
      this.output = (this.output + chunk.toString()).slice(-8000);
      if (whole) appendFileSync(whole, chunk);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const port = await freePort();
    const args = [...(options.nodeArgs ?? []), ...EXTRA_NODE_ARGS, options.script, ...options.args].map((arg) =>
      arg.replaceAll("{port}", String(port)),
    );
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    track(child);
    const server = new ServerProcess(options.label, port, child);
    await server.waitReady(options.readyPath);
    return server;
  }

  /**
   * A Mailroom node on the given Redis and key prefix (without `redisUrl`: the embedded memory engine),
   * with the per-client rate limits off. On a Redis Cluster (`redisMode: "cluster"`), `redisUrl` is the
   * comma-separated seeds.
   */
  static mailroomNode(options: {
    label: string;
    redisUrl?: string;
    redisMode?: "standalone" | "cluster";
    prefix?: string;
    nodeArgs?: string[];
  }): Promise<ServerProcess> {
    const store = options.redisUrl
      ? [
          "--redis",
          options.redisUrl,
          "--redis-mode",
          options.redisMode ?? "standalone",
          "--redis-prefix",
          options.prefix ?? "mailroom",
        ]
      : [];
    return ServerProcess.start({
      label: options.label,
      script: CLI,
      args: [
        "serve",
        "--port",
        "{port}",
        ...store,
        "--log-level",
        "warn",
        // The bench measures the broker, not the per-connection guards against abusive clients.
        "--commands-per-second",
        "0",
        "--http-requests-per-minute",
        "0",
      ],
      readyPath: "/readyz",
      nodeArgs: options.nodeArgs ?? [],
    });
  }

  private async waitReady(path: string): Promise<void> {
    const exited = new Promise<never>((_resolve, reject) => {
      this.child.once("exit", (code) =>
        reject(new Error(`${this.label} exited with ${code} before it was ready:\n${this.output}`)),
      );
    });
    exited.catch(() => {});
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const ready = (async () => {
      while (Date.now() < deadline) {
        const status = await fetch(`${this.url}${path}`).then(
          (response) => response.status,
          () => 0,
        );
        if (status === 200) return;
        await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
      }
      throw new Error(`${this.label} was not ready within ${READY_TIMEOUT_MS} ms:\n${this.output}`);
    })();
    await Promise.race([ready, exited]);
  }

  /** SIGTERM, then waits for the exit (SIGKILL past the deadline). Resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.exited()) return this.child.exitCode;
    const exit = new Promise<number | null>((resolve) => this.child.once("exit", (code) => resolve(code)));
    const deadline = setTimeout(() => this.child.kill("SIGKILL"), STOP_DEADLINE_MS);
    this.child.kill("SIGTERM");
    const code = await exit;
    clearTimeout(deadline);
    return code;
  }

  async kill(): Promise<void> {
    if (this.exited()) return;
    const exit = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGKILL");
    await exit;
  }

  private exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }
}
