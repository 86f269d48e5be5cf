/**
 * URL paths of a queue's HTTP routes (docs/protocol.md §6): `{ns}` is the namespace without its leading
 * slash, `_` for the default namespace `/`; the queue name is URL-encoded.
 */

/** `/` → `_`, `/orders` → `orders`. */
export function namespaceInPath(namespace: string): string {
  return namespace === "/" ? "_" : encodeURIComponent(namespace.replace(/^\//, ""));
}

/** The inverse of namespaceInPath, for a path segment already URL-decoded. */
export function namespaceFromPath(segment: string): string {
  return segment === "_" ? "/" : `/${segment}`;
}

export function queuePath(namespace: string, queue: string): string {
  return `/v1/namespaces/${namespaceInPath(namespace)}/queues/${encodeURIComponent(queue)}`;
}

/** The suffix that names a queue's dead-letter queue (docs/protocol.md §5). */
export const DEAD_LETTER_SUFFIX = ".dlq";

export function deadLetterQueueOf(queue: string): string {
  return `${queue}${DEAD_LETTER_SUFFIX}`;
}

export function isDeadLetterQueue(queue: string): boolean {
  return queue.endsWith(DEAD_LETTER_SUFFIX);
}

/** `orders.dlq` → `orders`. */
export function queueOfDeadLetterQueue(deadLetterQueue: string): string {
  return deadLetterQueue.slice(0, -DEAD_LETTER_SUFFIX.length);
}
