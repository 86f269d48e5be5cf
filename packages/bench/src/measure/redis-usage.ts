/**
 * What one run cost the bench's Redis: its CPU (INFO cpu) and commands (INFO commandstats, reset at the
 * start), per message. Everything Redis did in the window counts, so a system's background work (a
 * Mailroom node's heartbeats, BullMQ's stalled-job checks) is in its figure, as it would be in production.
 */
import type { CommandStat, RedisServer } from "../infra/redis-server.js";

export interface RedisUsage {
  cpuUsPerMsg: number;
  commandsPerMsg: number;
  /** The commands that took most of Redis's time, with calls and µs per message. */
  topCommands: Array<{ command: string; callsPerMsg: number; usecPerCall: number; usecPerMsg: number }>;
}

export class RedisUsageMeter {
  private constructor(
    private readonly redis: RedisServer,
    private readonly cpuBefore: number,
  ) {}

  static async begin(redis: RedisServer): Promise<RedisUsageMeter> {
    await redis.resetStats();
    return new RedisUsageMeter(redis, await redis.cpuSeconds());
  }

  async end(messages: number): Promise<RedisUsage> {
    const cpu = (await this.redis.cpuSeconds()) - this.cpuBefore;
    const stats = await this.redis.commandStats();
    return {
      cpuUsPerMsg: round((cpu * 1e6) / messages),
      commandsPerMsg: round(totalCalls(stats) / messages),
      topCommands: stats.slice(0, 4).map((stat) => ({
        command: stat.command,
        callsPerMsg: round(stat.calls / messages),
        usecPerCall: stat.usecPerCall,
        usecPerMsg: round(stat.usec / messages),
      })),
    };
  }
}

/** Calls of every command but INFO and CONFIG, which the meter itself sends. */
function totalCalls(stats: CommandStat[]): number {
  return stats.filter((stat) => !/^(info|config)/.test(stat.command)).reduce((sum, stat) => sum + stat.calls, 0);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
