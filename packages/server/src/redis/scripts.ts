/**
 * The Lua scripts, loaded once from `packages/server/lua/*.lua`, and the only module that knows the
 * order of their KEYS and ARGV. Each script runs by EVALSHA, falling back to EVAL after a Redis restart.
 */
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import type { RedisKeys } from "./keys.js";

const LUA_FOLDER = new URL("../../lua/", import.meta.url);

function lua(name: string): string {
  return readFileSync(new URL(`${name}.lua`, LUA_FOLDER), "utf8");
}

const SCRIPTS = {
  heartbeat: { numberOfKeys: 2, lua: lua("heartbeat") },
  liveNodes: { numberOfKeys: 1, lua: lua("live-nodes") },
  claimDeadNodes: { numberOfKeys: 1, lua: lua("claim-dead-nodes") },
  roomJoin: { numberOfKeys: 2, lua: lua("room-join") },
  roomLeave: { numberOfKeys: 2, lua: lua("room-leave") },
  roomDropNode: { numberOfKeys: 2, lua: lua("room-drop-node") },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptRunner = (...keysThenArgs: (string | number)[]) => Promise<unknown>;
/** What `defineCommand` adds to a client or a pipeline. */
type WithScripts = Record<ScriptName, ScriptRunner>;

export interface HeartbeatArgs {
  nodeId: string;
  url: string;
  startedAt: number;
  connections: number;
  infoTtlMs: number;
}

export interface Membership {
  namespace: string;
  room: string;
  socket: string;
  user?: string | undefined;
}

/**
 * Typed calls of every script on one client. The client auto-pipelines: calls made in the same tick
 * travel to Redis in one round trip.
 */
export class Scripts {
  private readonly target: WithScripts;

  constructor(
    client: Redis,
    private readonly keys: RedisKeys,
  ) {
    for (const [name, definition] of Object.entries(SCRIPTS)) client.defineCommand(name, definition);
    this.target = client as unknown as WithScripts;
  }

  heartbeat(args: HeartbeatArgs): Promise<number> {
    const { nodeId, url, startedAt, connections, infoTtlMs } = args;
    return this.run(
      "heartbeat",
      [this.keys.nodes(), this.keys.nodeInfo(nodeId)],
      [nodeId, url, startedAt, connections, infoTtlMs],
    ) as Promise<number>;
  }

  liveNodes(timeoutMs: number): Promise<string[]> {
    return this.run("liveNodes", [this.keys.nodes()], [timeoutMs]) as Promise<string[]>;
  }

  claimDeadNodes(timeoutMs: number): Promise<string[]> {
    return this.run("claimDeadNodes", [this.keys.nodes()], [timeoutMs]) as Promise<string[]>;
  }

  roomJoin(nodeId: string, member: Membership): Promise<number> {
    return this.run("roomJoin", this.roomKeys(member), [nodeId, member.socket, member.user ?? ""]) as Promise<number>;
  }

  roomLeave(nodeId: string, member: Membership): Promise<number> {
    return this.run("roomLeave", this.roomKeys(member), [nodeId, member.socket]) as Promise<number>;
  }

  roomDropNode(nodeId: string, namespace: string, room: string): Promise<number> {
    return this.run("roomDropNode", this.roomKeys({ namespace, room }), [nodeId]) as Promise<number>;
  }

  private run(name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown> {
    return this.target[name](...keys, ...args);
  }

  private roomKeys({ namespace, room }: { namespace: string; room: string }): string[] {
    return [this.keys.roomMembers(namespace, room), this.keys.roomCounts(namespace, room)];
  }
}
