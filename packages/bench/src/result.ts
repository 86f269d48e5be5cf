/**
 * One figure of the bench: a scenario run against one system. Printed as one JSON line on stdout, with
 * the fields PRODUCT.md names; `details` holds what explains the figure (CPU of each process, Redis
 * commands per message, memory...). A skipped system has null figures and says why in `notes`.
 */

export interface ScenarioResult {
  name: string;
  system: string;
  /** Messages (or deliveries, or HTTP sends) per second; null where the scenario has no rate. */
  msgsPerSec: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** redis-server user+sys CPU over the run ÷ messages, in µs; null where the system has no Redis. */
  redisCpuUsPerMsg: number | null;
  /**
   * CPU of every process of the system (servers, Redis or the broker, producer, consumer) over the run ÷
   * messages, in µs: what a message costs the machine, which a busy machine changes less than the rate.
   */
  cpuUsPerMsg?: number | null;
  notes: string;
  details?: Record<string, unknown>;
}

export function skipped(name: string, system: string, why: string): ScenarioResult {
  return { name, system, msgsPerSec: null, p50Ms: null, p99Ms: null, redisCpuUsPerMsg: null, notes: `skipped: ${why}` };
}

export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? Math.round((count * 1000) / elapsedMs) : 0;
}
