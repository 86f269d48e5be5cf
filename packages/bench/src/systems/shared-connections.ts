/**
 * One connection per node URL for all the producers and consumers of a process, as an application's
 * queues share its socket: the first user opens it, the last one to release it closes it. A connection
 * that failed to open is forgotten, so the next user tries again instead of inheriting the failure.
 * It does not reconnect or check a connection's health: that is the connection's own business.
 */

export class SharedConnections<Connection> {
  /** Node URL -> the connection of this process to it, and how many producers and consumers use it. */
  private readonly byUrl = new Map<string, { connection: Promise<Connection>; users: number }>();

  constructor(
    /** What needs a connection, for the error when no URL is given (e.g. "a Mailroom producer or consumer"). */
    private readonly what: string,
    private readonly open: (url: string) => Promise<Connection>,
    private readonly close: (connection: Connection) => void,
  ) {}

  /** The process's connection to `url`, opened for its first user. */
  borrow(url: string | undefined): Promise<Connection> {
    if (!url) return Promise.reject(new Error(`${this.what} needs a node URL`));
    let entry = this.byUrl.get(url);
    if (!entry) {
      const connection = this.open(url);
      entry = { connection, users: 0 };
      this.byUrl.set(url, entry);
      connection.catch(() => this.byUrl.delete(url));
    }
    entry.users += 1;
    return entry.connection;
  }

  /** Gives back one use of the connection to `url`; closes it once its last user is done with it. */
  async release(url: string | undefined): Promise<void> {
    const entry = url === undefined ? undefined : this.byUrl.get(url);
    if (!entry || url === undefined) return;
    entry.users -= 1;
    if (entry.users > 0) return;
    this.byUrl.delete(url);
    this.close(await entry.connection);
  }
}
