/**
 * Raw Socket.IO peer servers (peer-servers/socketio-server.ts) as processes on the bench's Redis.
 */
import { fileURLToPath } from "node:url";
import { ServerProcess } from "../infra/server-process.js";

const SCRIPT = fileURLToPath(new URL("../peer-servers/socketio-server.js", import.meta.url));

export function startSocketioServers(redisUrl: string, count: number): Promise<ServerProcess[]> {
  return Promise.all(
    Array.from({ length: count }, (_unused, index) =>
      ServerProcess.start({
        label: `socket.io server ${index + 1}`,
        script: SCRIPT,
        args: ["--port", "{port}", "--redis", redisUrl],
        readyPath: "/healthz",
      }),
    ),
  );
}
