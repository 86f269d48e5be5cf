/**
 * How big a chaos run is, and where its figures go. `npm test` runs the quick form (bounded, for CI);
 * `npm run chaos` sets CHAOS=full for the long one. Each scenario prints one JSON line of figures,
 * prefixed `CHAOS `, and appends it to the file named by CHAOS_REPORT when that is set.
 */
import { appendFileSync } from "node:fs";

export const FULL = process.env.CHAOS === "full";

/** The quick value in `npm test`, the full one in `npm run chaos`. */
export function sized<T>(quick: T, full: T): T {
  return FULL ? full : quick;
}

export function report(scenario: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, mode: FULL ? "full" : "quick", ...figures });
  console.log(`CHAOS ${line}`);
  const file = process.env.CHAOS_REPORT;
  if (file) appendFileSync(file, `${line}\n`);
}
