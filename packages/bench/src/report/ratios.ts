/**
 * Each scenario's headline figure, and how Mailroom compares with a peer on it in the same run:
 * rates higher is better, latency (p99) and memory per socket lower is better. The ratio column compares
 * every other system, `mailroom-stock` included, with `mailroom` (through the SDK).
 */
import type { ScenarioResult } from "../result.js";

interface Headline {
  label: string;
  value: (result: ScenarioResult) => number | null;
}

const HEADLINES: Record<string, Headline> = {
  "queue-latency": { label: "p99", value: (result) => result.p99Ms },
  "idle-sockets": { label: "KiB/socket", value: kibPerSocket },
};
const RATE: Headline = { label: "msgs/s", value: (result) => result.msgsPerSec };

export function kibPerSocket(result: ScenarioResult): number | null {
  const value = result.details?.kibPerSocket;
  return typeof value === "number" ? value : null;
}

/** "1.85× msgs/s": Mailroom's headline figure ÷ this result's, in the same scenario; "" for Mailroom itself. */
export function ratioToMailroom(result: ScenarioResult, all: ScenarioResult[]): string {
  if (result.system === "mailroom") return "";
  const ratio = mailroomOver(result.name, result.system, all);
  if (ratio === null) return "";
  return `${ratio.toFixed(2)}× ${(HEADLINES[result.name] ?? RATE).label}`;
}

/** Mailroom's headline figure ÷ the given system's, in one scenario; null when either is missing. */
export function mailroomOver(scenario: string, system: string, all: ScenarioResult[]): number | null {
  return headlineOver(scenario, "mailroom", system, all);
}

/** One system's headline figure ÷ another's, in one scenario; null when either is missing. */
export function headlineOver(scenario: string, system: string, peer: string, all: ScenarioResult[]): number | null {
  const headline = HEADLINES[scenario] ?? RATE;
  const find = (name: string) => all.find((result) => result.name === scenario && result.system === name);
  const ours = find(system);
  const theirs = find(peer);
  const a = ours && headline.value(ours);
  const b = theirs && headline.value(theirs);
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return a / b;
}
