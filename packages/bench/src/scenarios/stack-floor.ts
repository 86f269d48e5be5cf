/**
 * Runs of the stack's floor (systems/socketio-relay-queue.ts): two fresh raw Socket.IO servers on the
 * bench's Redis stand in for node A and node B for the length of one run.
 */
import type { BenchContext } from "./bench-context.js";
import { startSocketioServers } from "./socketio-servers.js";

export async function onRelayServers<Result>(
  context: BenchContext,
  run: (context: BenchContext) => Promise<Result>,
): Promise<Result> {
  const [serverA, serverB] = await startSocketioServers(context.redis.url, 2);
  if (!serverA || !serverB) throw new Error("the relay's servers did not start");
  try {
    return await run({ ...context, nodeA: serverA, nodeB: serverB });
  } finally {
    await Promise.all([serverA.kill(), serverB.kill()]);
  }
}
