/**
 * Room fan-out: one publisher on server A; the room's members split between servers A and B, each half
 * in a process of its own; every publish reaches every member, across servers through the Redis
 * adapter. Deliveries per second from the first publish to the last delivery, Mailroom against raw
 * Socket.IO with @socket.io/redis-adapter in the same shape. Redis CPU is per publish.
 */
import { randomBytes } from "node:crypto";
import { CpuMeter, cpuMicrosecondsPer } from "../infra/process-stats.js";
import { RoleProcess } from "../infra/role-process.js";
import type { ServerProcess } from "../infra/server-process.js";
import { RedisUsageMeter } from "../measure/redis-usage.js";
import { perSecond, type ScenarioResult } from "../result.js";
import type { RoomMembersConfig, RoomMembersResult } from "../roles/room-members-role.js";
import type { RoomPublisherConfig, RoomPublisherResult } from "../roles/room-publisher-role.js";
import { now } from "../systems/payload.js";
import type { SocketSystemName } from "../systems/socket-systems.js";
import type { BenchContext, Scenario } from "./bench-context.js";
import { describeCpu } from "./queue-run.js";
import { bestOfRounds } from "./rounds.js";
import { startSocketioServers } from "./socketio-servers.js";

const EVENT = "tick";

export const roomFanout: Scenario = {
  name: "room-fanout",
  about: "deliveries/s of one publisher to a room of members on two servers",
  async run(context: BenchContext) {
    await bestOfRounds(
      context,
      (["mailroom", "socket.io"] as const).map((system) => ({ system, run: () => onServers(context, system) })),
    );
  },
};

async function onServers(context: BenchContext, system: SocketSystemName): Promise<ScenarioResult> {
  const servers = system === "mailroom" ? undefined : await startSocketioServers(context.redis.url, 2);
  try {
    const [serverA, serverB] = servers ?? [context.nodeA, context.nodeB];
    if (!serverA || !serverB) throw new Error("two servers are needed");
    return await fanout(context, system, serverA, serverB);
  } finally {
    await Promise.all((servers ?? []).map((server) => server.kill()));
  }
}

async function fanout(
  context: BenchContext,
  system: SocketSystemName,
  serverA: ServerProcess,
  serverB: ServerProcess,
): Promise<ScenarioResult> {
  const { fanoutMembers, fanoutPublishes, fanoutWindow, connectBatch } = context.sizes;
  const room = `bench-room-${context.runId}-${randomBytes(2).toString("hex")}`;
  context.progress(`room-fanout: ${system}, ${fanoutMembers} members, ${fanoutPublishes} publishes`);
  const halves = [Math.ceil(fanoutMembers / 2), Math.floor(fanoutMembers / 2)];
  const members = await Promise.all(
    [serverA, serverB].map((server, index) =>
      RoleProcess.start<RoomMembersConfig, RoomMembersResult>(
        "room-members",
        {
          system,
          url: server.url,
          room,
          event: EVENT,
          members: halves[index] ?? 0,
          batch: connectBatch,
          publishes: fanoutPublishes,
        },
        `${system} members ${index === 0 ? "A" : "B"}`,
      ),
    ),
  );
  const publisher = await RoleProcess.start<RoomPublisherConfig, RoomPublisherResult>(
    "room-publisher",
    { system, url: serverA.url, room, event: EVENT, publishes: fanoutPublishes, window: fanoutWindow },
    `${system} publisher`,
  );
  try {
    const usage = await RedisUsageMeter.begin([context.redis]);
    const cpu = new CpuMeter({
      redis: context.redis.pid,
      "server A": serverA.pid,
      "server B": serverB.pid,
      publisher: publisher.pid,
      "members A": members[0]?.pid,
      "members B": members[1]?.pid,
    });
    const startedAt = now();
    const received = Promise.all(members.map((member) => member.run()));
    await publisher.run();
    const results = await received;
    const elapsedMs = now() - startedAt;
    const cpuReading = cpu.read();
    const cpuCores = cpuReading.cores;
    const redis = (await usage.end(fanoutPublishes)).total;
    const deliveries = results.reduce((sum, result) => sum + result.deliveries, 0);
    const worst = (pick: (result: RoomMembersResult) => number | null) =>
      Math.max(...results.map((result) => pick(result) ?? 0));
    return {
      name: "room-fanout",
      system,
      msgsPerSec: perSecond(deliveries, elapsedMs),
      p50Ms: worst((result) => result.latency.p50Ms),
      p99Ms: worst((result) => result.latency.p99Ms),
      redisCpuUsPerMsg: redis.cpuUsPerMsg,
      cpuUsPerMsg: cpuMicrosecondsPer(cpuReading, deliveries),
      notes: [
        `${fanoutPublishes} publishes × ${fanoutMembers} members (${halves.join(" + ")} on 2 servers) in ${(elapsedMs / 1000).toFixed(1)} s`,
        "msgs/s = deliveries/s; Redis µs per publish, CPU µs per delivery; latency = worse of the two member processes",
        `CPU cores: ${describeCpu(cpuCores)}`,
      ].join("; "),
      details: { deliveries, publishes: fanoutPublishes, members: fanoutMembers, redis, cpuCores },
    };
  } finally {
    await Promise.all([publisher.close(), ...members.map((member) => member.close())]);
  }
}
