/**
 * Best of several rounds, for the scenarios that measure a rate: every system runs once per round, rounds
 * interleaved (A, B, C, A, B, C), and each system's fastest round is reported with the others in its
 * notes. On a machine shared with other work, a round that another process slowed down says less about
 * a system than its best one, and interleaving gives every system the same chances.
 */
import type { ScenarioResult } from "../result.js";
import type { BenchContext } from "./bench-context.js";

export interface RoundRunner {
  system: string;
  run(): Promise<ScenarioResult>;
}

export async function bestOfRounds(context: BenchContext, runners: RoundRunner[]): Promise<void> {
  const rounds = context.sizes.rounds;
  const results = new Map<string, ScenarioResult[]>(runners.map((runner) => [runner.system, []]));
  for (let round = 1; round <= rounds; round += 1) {
    if (rounds > 1) context.progress(`round ${round} of ${rounds}`);
    for (const runner of runners) {
      results.get(runner.system)?.push(await runner.run());
    }
  }
  for (const runner of runners) {
    const all = results.get(runner.system) ?? [];
    const best = [...all].sort((a, b) => (b.msgsPerSec ?? 0) - (a.msgsPerSec ?? 0))[0];
    if (!best) continue;
    if (all.length > 1) {
      const rates = all.map((result) => (result.msgsPerSec ?? 0).toLocaleString("en-US")).join(", ");
      best.notes = `best of ${all.length} rounds (${rates} msgs/s); ${best.notes}`;
    }
    context.report(best);
  }
}
