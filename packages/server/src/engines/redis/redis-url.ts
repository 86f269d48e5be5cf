/**
 * What of a Redis URL may be shown to an operator. A URL may carry a password (`redis://:pw@host:6379`),
 * so it is never logged whole: logs name the server by `host:port` (`redisTarget`), and a message that
 * must repeat the URL masks its credentials first (`maskRedisUrl`). Neither validates the URL: config.ts
 * does, and both work on text that does not parse.
 */

/** Redis's port when a URL names none. */
const DEFAULT_REDIS_PORT = 6379;
/** What stands in for hidden credentials. */
const MASK = "***";

/** `host:port` of the server a URL names, for logs: `redis://:pw@cache:6380/0` is `cache:6380`. */
export function redisTarget(url: string): string {
  try {
    const { host, port } = redisServer(url);
    return `${host}:${port}`;
  } catch {
    return maskRedisUrl(url);
  }
}

/** The host and port a (valid) URL names; throws on one that does not parse. */
export function redisServer(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: parsed.port === "" ? DEFAULT_REDIS_PORT : Number(parsed.port) };
}

/**
 * The URL with its password masked (`redis://user:***@host:6379`). A user part without a colon is masked
 * whole: ioredis reads it as a user name, but whoever wrote `redis://secret@host` meant a password.
 */
export function maskRedisUrl(url: string): string {
  const authorityStart = url.indexOf("//");
  if (authorityStart === -1) return url;
  const rest = url.slice(authorityStart + 2);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const at = authority.lastIndexOf("@");
  if (at === -1) return url;
  const userInfo = authority.slice(0, at);
  const colon = userInfo.indexOf(":");
  const masked = colon === -1 ? MASK : `${userInfo.slice(0, colon)}:${MASK}`;
  return `${url.slice(0, authorityStart + 2)}${masked}${rest.slice(at)}`;
}

/** The password a URL carries (decoded, as ioredis sends it), if any: what must never reach a log. */
export function redisPassword(url: string): string | undefined {
  try {
    const { password } = new URL(url);
    return password === "" ? undefined : decodeURIComponent(password);
  } catch {
    return undefined;
  }
}

/** The passwords of a comma-separated list of URLs (cluster seeds, Sentinels), as `redisPassword` reads each. */
export function redisPasswords(urls: string): string[] {
  return urls.split(",").flatMap((url) => redisPassword(url.trim()) ?? []);
}
