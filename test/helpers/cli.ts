/**
 * The built `mailroom` CLI as a real process: `runCli` runs one command to its end and returns its exit
 * code and output; `startCli` starts a long-running one (`subscribe`, `consume`) that a test reads while
 * it runs, signals, and awaits. The environment's MAILROOM_* variables are removed, so a test says every
 * setting it relies on; processes still running after the test are killed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { onCleanup } from "./cleanup.js";
import { waitFor } from "./wait.js";

const CLI = fileURLToPath(new URL("../../packages/cli/bin/mailroom.js", import.meta.url));

export interface CliOptions {
  /** Extra environment variables (on top of the test process's, less its MAILROOM_* ones). */
  env?: Record<string, string>;
  /** Written to the process's stdin, which is then closed; without it stdin is empty. */
  input?: string | Uint8Array;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

export interface RunningCli {
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** The lines of stdout so far, each parsed as JSON. */
  jsonLines(): unknown[];
  /** Resolves once stderr holds `text`. */
  waitForStderr(text: string): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited: Promise<CliResult>;
}

export function startCli(args: string[], options: CliOptions = {}): RunningCli {
  const startedAt = performance.now();
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], {
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    env: { ...environmentWithoutMailroom(), ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr, elapsedMs: performance.now() - startedAt }));
  });
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    jsonLines: () => parseJsonLines(stdout),
    waitForStderr: async (text) => {
      try {
        await waitFor(() => stderr.includes(text), { timeoutMs: 20_000, what: `"${text}" on stderr` });
      } catch (error) {
        throw new Error(`${(error as Error).message}; stderr so far:\n${stderr}`);
      }
    },
    signal: (signal) => child.kill(signal),
    exited,
  };
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).exited;
}

/** Each non-empty line of `text`, parsed as JSON. */
export function parseJsonLines(text: string): unknown[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as unknown);
}

function environmentWithoutMailroom(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("MAILROOM_")));
}
