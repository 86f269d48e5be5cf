/**
 * Where a queue system's run goes: the bench's Mailroom nodes (and the peers' own servers), except for the
 * stack's floor (systems/socketio-relay-queue.ts), for which two fresh raw Socket.IO servers on the bench's
 * Redis stand in for node A and node B for the length of the run.
 */
import { isStackFloor, type QueueSystemName } from "../systems/queue-systems.js";
import type { BenchContext } from "./bench-context.js";
import { startSocketioServers } from "./socketio-servers.js";

export async function onServersOf<Result>(
  context: BenchContext,
  system: QueueSystemName,
  run: (context: BenchContext) => Promise<Result>,
): Promise<Result> {
  if (!isStackFloor(system)) return run(context);
  const [serverA, serverB] = await startSocketioServers(context.redis.url, 2);
  if (!serverA || !serverB) throw new Error("the relay's servers did not start");
  try {
    return await run({ ...context, nodeA: serverA, nodeB: serverB });
  } finally {
    await Promise.all([serverA.kill(), serverB.kill()]);
  }
}
