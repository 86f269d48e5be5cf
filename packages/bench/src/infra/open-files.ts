/**
 * The soft limit of open files this process (and so its children) may hold, from /proc/self/limits.
 * 10,000 sockets need 10,000 descriptors in the server and as many in the clients; Node.js cannot raise
 * the limit itself, the shell does (`ulimit -n 65536`).
 */
import { readFileSync } from "node:fs";

export function openFilesLimit(): number | undefined {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (!match) return undefined;
    return match[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(match[1]);
  } catch {
    return undefined;
  }
}
