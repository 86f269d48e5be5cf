/**
 * What one run cost the bench's Redis: its CPU (INFO cpu) and commands (INFO commandstats, reset at the
 * start), per message. Everything Redis did in the window counts, so a system's background work (a
 * Mailroom node's heartbeats, BullMQ's stalled-job checks) is in its figure, as it would be in production.
 * Over several servers (the masters of a Redis Cluster) it gives the usage of all of them together and of
 * each one, every figure still per message of the whole run.
 */
import type { CommandStat, RedisServer } from "../infra/redis-server.js";

export interface RedisUsage {
  cpuUsPerMsg: number;
  commandsPerMsg: number;
  /** The totals over the window: user+sys CPU seconds and command calls (INFO and CONFIG left out). */
  cpuSeconds: number;
  commands: number;
  /** The commands that took most of Redis's time, with calls and µs per message. */
  topCommands: Array<{ command: string; callsPerMsg: number; usecPerCall: number; usecPerMsg: number }>;
}

export interface RedisUsageOfServers {
  /** All the servers together. */
  total: RedisUsage;
  /** Each server, in the order they were given. */
  each: RedisUsage[];
}

interface Window {
  cpuSeconds: number;
  stats: CommandStat[];
}

export class RedisUsageMeter {
  private constructor(
    private readonly servers: readonly RedisServer[],
    private readonly cpuBefore: readonly number[],
  ) {}

  static async begin(servers: readonly RedisServer[]): Promise<RedisUsageMeter> {
    await Promise.all(servers.map((server) => server.resetStats()));
    return new RedisUsageMeter(servers, await Promise.all(servers.map((server) => server.cpuSeconds())));
  }

  async end(messages: number): Promise<RedisUsageOfServers> {
    const cpuAfter = await Promise.all(this.servers.map((server) => server.cpuSeconds()));
    const stats = await Promise.all(this.servers.map((server) => server.commandStats()));
    const windows: Window[] = this.servers.map((_, index) => ({
      cpuSeconds: (cpuAfter[index] ?? 0) - (this.cpuBefore[index] ?? 0),
      stats: stats[index] ?? [],
    }));
    const total: Window = {
      cpuSeconds: windows.reduce((sum, window) => sum + window.cpuSeconds, 0),
      stats: mergeStats(windows.flatMap((window) => window.stats)),
    };
    return { total: usage(total, messages), each: windows.map((window) => usage(window, messages)) };
  }
}

function usage(window: Window, messages: number): RedisUsage {
  const commands = totalCalls(window.stats);
  return {
    cpuUsPerMsg: round((window.cpuSeconds * 1e6) / messages),
    commandsPerMsg: round(commands / messages),
    cpuSeconds: Math.round(window.cpuSeconds * 1e6) / 1e6,
    commands,
    topCommands: window.stats.slice(0, 4).map((stat) => ({
      command: stat.command,
      callsPerMsg: round(stat.calls / messages),
      usecPerCall: stat.usecPerCall,
      usecPerMsg: round(stat.usec / messages),
    })),
  };
}

/** The same command's figures of several servers added up, busiest first. */
function mergeStats(stats: CommandStat[]): CommandStat[] {
  const byCommand = new Map<string, { calls: number; usec: number }>();
  for (const stat of stats) {
    const sum = byCommand.get(stat.command) ?? { calls: 0, usec: 0 };
    sum.calls += stat.calls;
    sum.usec += stat.usec;
    byCommand.set(stat.command, sum);
  }
  return [...byCommand]
    .map(([command, { calls, usec }]) => ({ command, calls, usec, usecPerCall: round(usec / Math.max(calls, 1)) }))
    .sort((a, b) => b.usec - a.usec);
}

/** Calls of every command but INFO and CONFIG, which the meter itself sends. */
function totalCalls(stats: CommandStat[]): number {
  return stats.filter((stat) => !/^(info|config)/.test(stat.command)).reduce((sum, stat) => sum + stat.calls, 0);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
