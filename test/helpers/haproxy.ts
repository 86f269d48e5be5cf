/**
 * The real HAProxy binary running the repo's own deploy/haproxy.cfg, unchanged: the test gives it other
 * values for the file's environment variables (its listening address, a DNS server of the test's own,
 * the nodes' name and port) instead of docker-compose.yml's defaults. Killed after the test.
 * `servers()` reads HAProxy's stats page: which slots hold a node, at which address, and whether up.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { onCleanup } from "./cleanup.js";
import { freePort } from "./ports.js";
import { waitFor } from "./wait.js";

export const HAPROXY_CONFIG = fileURLToPath(new URL("../../deploy/haproxy.cfg", import.meta.url));

/** Whether an `haproxy` binary is on the PATH. */
export function haproxyInstalled(): boolean {
  try {
    execFileSync("haproxy", ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface LoadBalancerOptions {
  /** host:port of the DNS server that resolves the nodes' name. */
  nameserver: string;
  /** The nodes' DNS name and port, as in docker-compose.yml's `node:3000`. */
  nodes: string;
}

export interface ServerSlot {
  /** node-1 .. node-N */
  name: string;
  /** UP, DOWN, MAINT (an empty slot) ... */
  status: string;
  /** ip:port, or empty for an empty slot. */
  address: string;
}

export interface LoadBalancer {
  readonly url: string;
  /** The server slots of the backend, from HAProxy's stats. */
  servers(): Promise<ServerSlot[]>;
  /** Everything HAProxy printed so far (its log). */
  output(): string;
}

export async function startLoadBalancer(options: LoadBalancerOptions): Promise<LoadBalancer> {
  const port = await freePort();
  const statsPort = await freePort();
  const child: ChildProcess = spawn("haproxy", ["-db", "-f", HAPROXY_CONFIG], {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      MAILROOM_LB_BIND: `127.0.0.1:${port}`,
      MAILROOM_LB_STATS_BIND: `127.0.0.1:${statsPort}`,
      MAILROOM_LB_NAMESERVER: options.nameserver,
      MAILROOM_LB_NODES: options.nodes,
    },
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  );

  const statsUrl = `http://127.0.0.1:${statsPort}/;csv`;
  const servers = async (): Promise<ServerSlot[]> => {
    const response = await fetch(statsUrl);
    if (!response.ok) throw new Error(`HAProxy stats answered ${response.status}`);
    return parseServers(await response.text());
  };
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${output}`);
      return (await servers()).length > 0;
    },
    { timeoutMs: 10_000, what: "HAProxy to serve its stats" },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${output}`);
  });
  return { url: `http://127.0.0.1:${port}`, servers, output: () => output };
}

/** The backend's server rows of HAProxy's stats CSV (header line "# pxname,svname,..."). */
function parseServers(csv: string): ServerSlot[] {
  const [header = "", ...rows] = csv.trim().split("\n");
  const columns = header.replace(/^# /, "").split(",");
  const column = (name: string) => columns.indexOf(name);
  return rows
    .map((row) => row.split(","))
    .filter((cells) => cells[column("pxname")] === "mailroom_nodes")
    .filter((cells) => !["FRONTEND", "BACKEND"].includes(cells[column("svname")] ?? ""))
    .map((cells) => ({
      name: cells[column("svname")] ?? "",
      status: cells[column("status")] ?? "",
      address: cells[column("addr")] ?? "",
    }));
}
