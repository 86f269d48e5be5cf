/**
 * The page's places, in the URL's fragment so the node serves one file for all of them and a reload or a
 * shared link opens the same place: `#/` the overview, `#/queues/<ns>/<queue>` a queue (`<ns>` as in the
 * HTTP routes, `_` for `/`; both parts URL-encoded).
 */
import { namespaceFromPath, namespaceInPath } from "../api/queue-paths.js";

export type Route = { page: "overview" } | { page: "queue"; namespace: string; queue: string };

export function parseRoute(hash: string): Route {
  const match = /^#\/queues\/([^/]+)\/([^/]+)$/.exec(hash);
  if (match === null) return { page: "overview" };
  try {
    return {
      page: "queue",
      namespace: namespaceFromPath(decodeURIComponent(match[1] as string)),
      queue: decodeURIComponent(match[2] as string),
    };
  } catch {
    return { page: "overview" };
  }
}

export function queueHref(namespace: string, queue: string): string {
  return `#/queues/${namespaceInPath(namespace)}/${encodeURIComponent(queue)}`;
}

export const OVERVIEW_HREF = "#/";
