/**
 * Figures of the attack tests (a hostile tenant against a running node, docs/protocol.md §15): each test prints
 * one line `ABUSE {json}` with what it measured, so RELIABILITY.md's "Abuse" figures come from a command
 * anyone can run: `npx vitest run <file> | grep ABUSE`.
 */
export function reportAbuse(attack: string, figures: Record<string, unknown>): void {
  console.log(`ABUSE ${JSON.stringify({ attack, ...figures })}`);
}
