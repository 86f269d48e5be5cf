/**
 * HTTP reads as the dashboard makes them, for tests of the monitor right: a token signed with the test
 * secret (pass `--jwt-secret TEST_JWT_SECRET` to the node) carrying the given rights, and a request whose
 * answer comes back as status and JSON body.
 */
import { SignJWT } from "jose";
import type { NodeHandle } from "./nodes.js";

export const TEST_JWT_SECRET = "a-test-secret-of-enough-length-for-hs256";

/** A token for `sub` "watcher" with these rights (namespace -> rights), valid for a minute. */
export function token(rights: Record<string, string[]>): Promise<string> {
  return new SignJWT({ mailroom: rights })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("watcher")
    .setExpirationTime(Math.floor(Date.now() / 1000) + 60)
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

/** `method path` on the node, with a bearer token and a JSON body if given. */
export async function http(
  node: NodeHandle,
  method: string,
  path: string,
  bearer?: string,
  json?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked by the tests
): Promise<any> {
  const headers: Record<string, string> = {};
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (json !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: response.status, body: await response.json() };
}
