/**
 * A role (producer, consumer, room members, publisher, socket holder) run in a process of its own, so
 * that each side of a run has its own CPU, as applications would. See roles/role-protocol.ts.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ChildMessage, ParentMessage } from "../roles/role-protocol.js";

const ROLE_MAIN = fileURLToPath(new URL("../roles/role-main.js", import.meta.url));
/** A role still running this long after close is killed. */
const CLOSE_DEADLINE_MS = 10_000;

export class RoleProcess<Result> {
  private stderr = "";
  private waiting: { resolve: (message: ChildMessage) => void; reject: (error: Error) => void } | undefined;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8000);
    });
    child.on("message", (message: ChildMessage) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (!waiting) return;
      if (message.type === "failed") waiting.reject(new Error(`${label} failed: ${message.error}\n${this.stderr}`));
      else waiting.resolve(message);
    });
    child.on("exit", (code, signal) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.reject(new Error(`${label} exited (${code ?? signal}):\n${this.stderr}`));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Forks the process and sets the role up; resolves once it is connected and ready to start. */
  static async start<Config, Result>(role: string, config: Config, label: string = role): Promise<RoleProcess<Result>> {
    const child = fork(ROLE_MAIN, [], { stdio: ["ignore", "ignore", "pipe", "ipc"] });
    const process = new RoleProcess<Result>(label, child);
    try {
      await process.request({ type: "setup", role, config });
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
    return process;
  }

  /** Starts the role's work; resolves with its result. */
  async run(): Promise<Result> {
    const message = await this.request({ type: "start" });
    if (message.type !== "done") throw new Error(`${this.label} answered ${message.type} to start`);
    return message.result as Result;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    const deadline = setTimeout(() => this.child.kill("SIGKILL"), CLOSE_DEADLINE_MS);
    if (this.child.connected) this.child.send({ type: "close" } satisfies ParentMessage);
    else this.child.kill("SIGKILL");
    await exited;
    clearTimeout(deadline);
  }

  private request(message: ParentMessage): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      if (this.waiting) throw new Error(`${this.label} is already busy`);
      this.waiting = { resolve, reject };
      this.child.send(message);
    });
  }
}
