/**
 * The names in an HTTP route's path, checked by the rules of docs/protocol.md §1: `{ns}` is the namespace
 * without its leading slash (`_` for the default `/`), `{queue}` a queue, `{room}` a room (URL-encoded in
 * the path; the router decodes it). A name that breaks its rule is `INVALID_NAME`, and so is a namespace
 * the admin UI holds on this node (`refuseAdminUiNamespace`).
 */
import { MailroomError, namespaceNameProblem, roomNameProblem } from "@mailroom/protocol";
import type { QueueAddress } from "../../engines/queue-engine.js";
import { queueAddress } from "../../operations/outgoing-messages.js";

/** How the default namespace `/` is written in a path. */
const DEFAULT_NAMESPACE_PARAM = "_";

/** The namespace a path's `{ns}` names, unchecked (auth reads it before the route checks it). */
export function namespaceInPath(ns: string): string {
  return ns === DEFAULT_NAMESPACE_PARAM ? "/" : `/${ns}`;
}

/** The namespace a path's `{ns}` names, or `INVALID_NAME`. */
export function namespaceOf(ns: string): string {
  const namespace = namespaceInPath(ns);
  // The default namespace is written `_`: an empty segment names nothing.
  const problem = ns === "" ? "the namespace is missing: write the default one as _" : namespaceNameProblem(namespace);
  if (problem) throw new MailroomError("INVALID_NAME", problem);
  return namespace;
}

/**
 * Refuses a path whose `{ns}` names the admin UI's namespace with `INVALID_NAME`: while the admin UI is
 * on, that name is no Mailroom namespace. Nothing for a path without `{ns}`.
 */
export function refuseAdminUiNamespace(params: unknown, adminUiNamespace: string): void {
  const ns = (params as { ns?: unknown } | undefined)?.ns;
  if (typeof ns === "string" && namespaceInPath(ns) === adminUiNamespace) {
    throw new MailroomError(
      "INVALID_NAME",
      `the namespace ${adminUiNamespace} is the admin UI's while --admin-ui is on: use another`,
    );
  }
}

export function queueOf(params: { ns: string; queue: string }): QueueAddress {
  return queueAddress(namespaceOf(params.ns), params.queue);
}

export function roomOf(params: { ns: string; room: string }): { namespace: string; room: string } {
  const namespace = namespaceOf(params.ns);
  const problem = roomNameProblem(params.room);
  if (problem) throw new MailroomError("INVALID_NAME", problem);
  return { namespace, room: params.room };
}
