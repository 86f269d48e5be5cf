/**
 * Every server process the bench starts is registered here and killed when the bench exits, however it
 * exits (the end of the run, an error, Ctrl-C), so no redis-server or node outlives it. Role processes
 * exit by themselves when their IPC channel closes.
 */
import type { ChildProcess } from "node:child_process";

const children = new Set<ChildProcess>();
let installed = false;

export function track(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
  if (installed) return;
  installed = true;
  process.once("exit", () => {
    for (const running of children) running.kill("SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => process.exit(130));
  }
}
