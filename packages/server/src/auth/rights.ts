/**
 * Rights per namespace (docs/protocol.md §7). A token's claim `mailroom` maps namespaces (the default one is
 * `/`) or `*` to lists of rights; a namespace's rights are the union of its own entry and `*`. `admin`
 * grants everything; `monitor` (§12) every read (stats, lists, members, history, peeks, the dashboard)
 * and nothing that changes anything. What each command and route needs is declared beside it, as a `Requirement`.
 */

export const RIGHTS = ["send", "consume", "join", "publish", "monitor", "admin"] as const;
export type Right = (typeof RIGHTS)[number];

/**
 * What an operation needs: one right in its namespace, one of several (`["join", "monitor"]`), `any` right
 * in its namespace (stats, lists, members), or only a valid `token` (the cluster listing).
 */
export type Requirement = Right | readonly Right[] | "any" | "token";

export type RightsClaim = Record<string, Right[]>;

/** Reads the `mailroom` claim; anything malformed grants nothing rather than failing the token. */
export function parseRightsClaim(claim: unknown): RightsClaim {
  if (typeof claim !== "object" || claim === null || Array.isArray(claim)) return {};
  const rights: RightsClaim = {};
  for (const [namespace, list] of Object.entries(claim)) {
    if (!Array.isArray(list)) continue;
    rights[namespace] = list.filter((right): right is Right => RIGHTS.includes(right as Right));
  }
  return rights;
}

export function rightsIn(claim: RightsClaim, namespace: string): Set<Right> {
  return new Set([...(Object.hasOwn(claim, namespace) ? (claim[namespace] ?? []) : []), ...(claim["*"] ?? [])]);
}

export function satisfies(claim: RightsClaim, namespace: string, requirement: Requirement): boolean {
  if (requirement === "token") return true;
  const rights = rightsIn(claim, namespace);
  if (requirement === "any") return rights.size > 0;
  if (rights.has("admin")) return true;
  return typeof requirement === "string" ? rights.has(requirement) : requirement.some((right) => rights.has(right));
}

/** The requirement as a message names it: "join or monitor". */
export function describeRequirement(requirement: Requirement): string {
  return typeof requirement === "string" ? requirement : requirement.join(" or ");
}
