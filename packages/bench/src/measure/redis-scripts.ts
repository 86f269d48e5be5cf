/**
 * Which Lua script each EVALSHA ran, and what each script cost Redis per call: Redis's slow log with a
 * threshold of 0 µs records every command with its execution time and arguments (for EVALSHA, the
 * script's SHA1 first), for the length of one run. Redis 7 also logs the commands a script calls, whose
 * time is inside the script's: only script calls are kept. SHA1s are matched to Mailroom's script files
 * (packages/server/lua, with `--!include` lines expanded as the server loads them); a script of another
 * system shows as its SHA1's first characters. Times are wall-clock, so a busy machine inflates them.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RedisServer } from "../infra/redis-server.js";

const LUA_FOLDER = fileURLToPath(new URL("../../../server/lua/", import.meta.url));
const INCLUDE_LINE = /^--!include ([a-z-]+)$/gm;
/** Entries the slow log keeps: enough for the top-level commands of a full queue-throughput run. */
const SLOWLOG_ENTRIES = 200_000;
/** Redis's defaults, restored after the run. */
const DEFAULT_SLOWLOG = { threshold: "10000", entries: "128" };

export interface ScriptCost {
  /** The script's file name. */
  name: string;
  calls: number;
  /** Messages ÷ calls: how many messages one call carried, on average. */
  msgsPerCall: number;
  usecPerCall: number;
  usecPerMsg: number;
  callsPerMsg: number;
}

/** The first lines the server may give a script, one of which makes its SHA. */
const SHEBANGS = ["", "#!lua\n", "#!lua flags=allow-oom\n"];

function scriptNames(): Map<string, string> {
  const names = new Map<string, string>();
  if (!existsSync(LUA_FOLDER)) return names;
  for (const file of readdirSync(LUA_FOLDER).filter((name) => name.endsWith(".lua"))) {
    const source = readFileSync(`${LUA_FOLDER}${file}`, "utf8").replace(INCLUDE_LINE, (_line, include: string) =>
      readFileSync(`${LUA_FOLDER}include/${include}.lua`, "utf8"),
    );
    // The server puts a `#!lua` line with the script's flags on top (packages/server/src/redis/scripts.ts).
    for (const shebang of SHEBANGS) {
      names.set(
        createHash("sha1")
          .update(shebang + source)
          .digest("hex"),
        file.replace(/\.lua$/, ""),
      );
    }
  }
  return names;
}

export class ScriptCostMeter {
  private constructor(private readonly redis: RedisServer) {}

  static async begin(redis: RedisServer): Promise<ScriptCostMeter> {
    await redis.command("CONFIG", "SET", "slowlog-max-len", String(SLOWLOG_ENTRIES));
    await redis.command("CONFIG", "SET", "slowlog-log-slower-than", "0");
    await redis.command("SLOWLOG", "RESET");
    return new ScriptCostMeter(redis);
  }

  /** The run's scripts, costliest first. */
  async end(messages: number): Promise<ScriptCost[]> {
    await this.redis.command("CONFIG", "SET", "slowlog-log-slower-than", DEFAULT_SLOWLOG.threshold);
    const entries = (await this.redis.command("SLOWLOG", "GET", "-1")) as Array<[number, number, number, string[]]>;
    await this.redis.command("CONFIG", "SET", "slowlog-max-len", DEFAULT_SLOWLOG.entries);
    const names = scriptNames();
    const totals = new Map<string, { calls: number; usec: number }>();
    for (const [, , usec, args] of entries) {
      if (String(args[0] ?? "").toLowerCase() !== "evalsha") continue;
      const sha = String(args[1] ?? "");
      const name = names.get(sha) ?? sha.slice(0, 8);
      const total = totals.get(name) ?? { calls: 0, usec: 0 };
      total.calls += 1;
      total.usec += usec;
      totals.set(name, total);
    }
    return [...totals]
      .sort((a, b) => b[1].usec - a[1].usec)
      .map(([name, { calls, usec }]) => ({
        name,
        calls,
        msgsPerCall: round(messages / calls),
        usecPerCall: round(usec / calls),
        usecPerMsg: round(usec / messages),
        callsPerMsg: round(calls / messages),
      }));
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
