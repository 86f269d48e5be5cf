/**
 * Idle sockets on one server: a fresh server process, its resident memory read from /proc before and
 * after `idleSockets` connections are opened (in batches, from two client processes) and held; memory per
 * socket is the difference ÷ sockets. Mailroom against raw Socket.IO with the Redis adapter. RSS also
 * holds garbage not yet collected, so the figure is an upper bound of what a socket keeps.
 */
import { residentBytes } from "../infra/process-stats.js";
import { RoleProcess } from "../infra/role-process.js";
import { ServerProcess } from "../infra/server-process.js";
import { perSecond } from "../result.js";
import type { SocketHolderConfig, SocketHolderResult } from "../roles/socket-holder-role.js";
import { now } from "../systems/payload.js";
import type { SocketSystemName } from "../systems/socket-systems.js";
import type { BenchContext, Scenario } from "./bench-context.js";
import { startSocketioServers } from "./socketio-servers.js";

const HOLDER_PROCESSES = 2;
const MIB = 1_048_576;

export const idleSockets: Scenario = {
  name: "idle-sockets",
  about: "memory per idle socket held on one server",
  async run(context: BenchContext) {
    for (const system of ["mailroom", "socket.io"] as const) {
      const server =
        system === "mailroom"
          ? await ServerProcess.mailroomNode({
              label: "idle-sockets node",
              redisUrl: context.redis.url,
              prefix: `${context.prefix}-idle`,
            })
          : ((await startSocketioServers(context.redis.url, 1))[0] as ServerProcess);
      try {
        await holdSockets(context, system, server);
      } finally {
        await server.kill();
      }
    }
  },
};

async function holdSockets(context: BenchContext, system: SocketSystemName, server: ServerProcess) {
  const { idleSockets: sockets, connectBatch } = context.sizes;
  context.progress(`idle-sockets: ${system}, ${sockets} sockets`);
  const pid = server.pid;
  if (pid === undefined) throw new Error("the server has no pid");
  const perHolder = Math.ceil(sockets / HOLDER_PROCESSES);
  const holders = await Promise.all(
    Array.from({ length: HOLDER_PROCESSES }, (_unused, index) =>
      RoleProcess.start<SocketHolderConfig, SocketHolderResult>(
        "socket-holder",
        {
          system,
          url: server.url,
          sockets: Math.min(perHolder, sockets - index * perHolder),
          batch: Math.ceil(connectBatch / HOLDER_PROCESSES),
        },
        `${system} sockets ${index + 1}`,
      ),
    ),
  );
  try {
    await settle(context.sizes.idleSettleMs);
    const before = residentBytes(pid) ?? 0;
    const startedAt = now();
    const opened = (await Promise.all(holders.map((holder) => holder.run()))).reduce(
      (sum, result) => sum + result.opened,
      0,
    );
    const connectMs = now() - startedAt;
    await settle(context.sizes.idleSettleMs);
    const after = residentBytes(pid) ?? 0;
    const kibPerSocket = Math.round(((after - before) / 1024 / opened) * 10) / 10;
    context.report({
      name: "idle-sockets",
      system,
      msgsPerSec: null,
      p50Ms: null,
      p99Ms: null,
      redisCpuUsPerMsg: null,
      notes: [
        `${opened} sockets held; ${kibPerSocket} KiB RSS per socket`,
        `RSS ${(before / MIB).toFixed(0)} → ${(after / MIB).toFixed(0)} MiB`,
        `${perSecond(opened, connectMs)} connects/s`,
      ].join("; "),
      details: {
        sockets: opened,
        kibPerSocket,
        rssBeforeMiB: round(before / MIB),
        rssAfterMiB: round(after / MIB),
        connectsPerSec: perSecond(opened, connectMs),
      },
    });
  } finally {
    await Promise.all(holders.map((holder) => holder.close()));
  }
}

function settle(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
