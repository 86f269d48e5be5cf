/**
 * What the stored token says it may do, read from its `mailroom` claim (docs/protocol.md §7) without checking
 * its signature: a hint for the page, which hides the admin actions a token plainly lacks. The node checks
 * every request; when the claim cannot be read the page shows the actions and lets the node answer.
 */

export type AdminRight = "yes" | "no" | "unknown";

/** Whether `token` carries `admin` in `namespace` (its own entry or `*`); `yes` with no token (auth off). */
export function adminRightIn(token: string | undefined, namespace: string): AdminRight {
  if (token === undefined) return "yes";
  const claim = rightsClaim(token);
  if (claim === undefined) return "unknown";
  const rights = [...(claim[namespace] ?? []), ...(claim["*"] ?? [])];
  return rights.includes("admin") ? "yes" : "no";
}

function rightsClaim(token: string): Record<string, string[]> | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (char) => char.charCodeAt(0)));
    const claim = (JSON.parse(json) as { mailroom?: unknown }).mailroom;
    if (typeof claim !== "object" || claim === null) return undefined;
    return Object.fromEntries(
      Object.entries(claim).map(([namespace, list]) => [namespace, Array.isArray(list) ? list.map(String) : []]),
    );
  } catch {
    return undefined;
  }
}
