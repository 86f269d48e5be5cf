/**
 * The clients of an idle-sockets run: opens `sockets` connections to one server, `batch` at a time
 * (so neither side is flooded with handshakes), and holds them, idle, until closed.
 */
import { now } from "../systems/payload.js";
import type { BenchSocket } from "../systems/socket-system.js";
import { loadSocketSystem, type SocketSystemName } from "../systems/socket-systems.js";
import type { Role } from "./role-protocol.js";

export interface SocketHolderConfig {
  system: SocketSystemName;
  url: string;
  sockets: number;
  batch: number;
}

export interface SocketHolderResult {
  opened: number;
  elapsedMs: number;
}

export async function socketHolderRole(config: SocketHolderConfig): Promise<Role> {
  const system = await loadSocketSystem(config.system);
  const sockets: BenchSocket[] = [];
  return {
    async start() {
      const startedAt = now();
      while (sockets.length < config.sockets) {
        const size = Math.min(config.batch, config.sockets - sockets.length);
        sockets.push(...(await Promise.all(Array.from({ length: size }, () => system.connect(config.url)))));
      }
      return { opened: sockets.length, elapsedMs: now() - startedAt } satisfies SocketHolderResult;
    },
    async close() {
      for (const socket of sockets) socket.close();
    },
  };
}
