/**
 * One Lua script, run by EVALSHA, and by EVAL when Redis does not hold it (after a restart, a failover or
 * SCRIPT FLUSH; the EVAL caches it again). Not ioredis's `defineCommand`: that copies every defined
 * script onto each pipeline ioredis builds, which was 6% of each node's CPU at a steady 2,000 msg/s when
 * the clients auto-pipelined. On a cluster a call goes to the slot of its first key, as any command's does.
 */
import { createHash } from "node:crypto";
import type { RedisClient } from "./redis-clients.js";

export type ScriptArgument = string | number | Buffer;
type ScriptCommand = "evalsha" | "eval" | "evalshaBuffer" | "evalBuffer";
type RunCommand = (script: string, numberOfKeys: number, ...keysThenArgs: ScriptArgument[]) => Promise<unknown>;

export class LuaScript {
  readonly sha: string;

  constructor(
    readonly lua: string,
    readonly numberOfKeys: number,
  ) {
    this.sha = createHash("sha1").update(lua).digest("hex");
  }

  /** Runs it with KEYS then ARGV; `buffers`: bulk replies come back as Buffers, else as strings. */
  run(client: RedisClient, keysThenArgs: ScriptArgument[], buffers = false): Promise<unknown> {
    // The Buffer variants exist at run time for every command, not in ioredis's types (`callBuffer` lost
    // its command name in an auto-pipeline, ioredis 5).
    const commands = client as unknown as Record<ScriptCommand, RunCommand>;
    const call = (command: "evalsha" | "eval", script: string) =>
      commands[buffers ? (`${command}Buffer` as const) : command].call(
        client,
        script,
        this.numberOfKeys,
        ...keysThenArgs,
      );
    return call("evalsha", this.sha).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return call("eval", this.lua);
    });
  }
}
