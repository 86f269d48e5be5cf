/**
 * What a process uses, read from Linux's /proc: CPU seconds (user + system) and resident memory. The
 * bench reads it for the processes it started, to tell which one a figure is limited by. Elsewhere than
 * Linux the readings are undefined and the bench reports without them.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat's CPU fields (USER_HZ, 100 on every usual Linux). */
const clockTicksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: the fields after it start past its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const userTicks = Number(fields[11]);
    const systemTicks = Number(fields[12]);
    return (userTicks + systemTicks) / clockTicksPerSecond;
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes. */
export function residentBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The first process whose command name (/proc/<pid>/comm) is `name`, e.g. RabbitMQ's `beam.smp`; read only. */
export function findProcess(name: string): number | undefined {
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === name) return Number(entry);
      } catch {
        // The process ended while we looked.
      }
    }
  } catch {
    // No /proc: not Linux.
  }
  return undefined;
}

/** CPU use of several processes over one stretch of time, in cores (1 = one core busy all along). */
export class CpuMeter {
  private readonly startedAt = performance.now();
  private readonly before: Map<string, number | undefined>;

  constructor(private readonly processes: Record<string, number | undefined>) {
    this.before = new Map(Object.entries(processes).map(([name, pid]) => [name, pid && cpuSeconds(pid)]));
  }

  /** Cores each process used since the meter was made, rounded to hundredths. */
  read(): CpuReading {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const cores: Record<string, number> = {};
    let totalSeconds = 0;
    for (const [name, pid] of Object.entries(this.processes)) {
      const start = this.before.get(name);
      const end = pid && cpuSeconds(pid);
      if (start === undefined || end === undefined || seconds <= 0) continue;
      cores[name] = Math.round(((end - start) / seconds) * 100) / 100;
      totalSeconds += end - start;
    }
    return { cores, totalSeconds };
  }
}

export interface CpuReading {
  /** Cores each process used (1 = one core busy all along). */
  cores: Record<string, number>;
  /** CPU seconds of all of them together. */
  totalSeconds: number;
}

/** CPU µs all the measured processes spent per message: what a message costs the machine, however busy. */
export function cpuMicrosecondsPer(reading: CpuReading, messages: number): number {
  return Math.round((reading.totalSeconds * 1e6) / Math.max(messages, 1));
}
