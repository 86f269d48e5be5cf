/**
 * The Socket.IO commands a node is running, so its drain can answer every one before it closes the
 * transports: once `close` is called, new commands are refused `UNAVAILABLE` (answered at once, so the
 * client knows to retry on another node), and `close` resolves when the running ones have answered, or
 * after its timeout.
 */
import { MailroomError } from "@mailroom/protocol";

export class InFlightCommands {
  private running = 0;
  private closed = false;
  private onIdle: (() => void) | undefined;

  /** Throws `UNAVAILABLE` once closed; otherwise counts `work` until it settles. */
  track(work: () => Promise<void>): Promise<void> {
    if (this.closed) throw new MailroomError("UNAVAILABLE", "the node is draining: retry on another node");
    this.running += 1;
    return work().finally(() => {
      this.running -= 1;
      if (this.running === 0) this.onIdle?.();
    });
  }

  /** Refuses new commands from now on; resolves when none runs, or after `timeoutMs`. */
  close(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
