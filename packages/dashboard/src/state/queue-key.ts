/** One string per queue of the cluster, for maps: its namespace and name, joined by a character no name holds. */
export function queueKey(namespace: string, name: string): string {
  return `${namespace}\n${name}`;
}
