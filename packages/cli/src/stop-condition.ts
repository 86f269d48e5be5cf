/**
 * When a long-running command (`consume`, `subscribe`) stops: after `--max` items, after `--timeout-ms`
 * without a new one (counted from the start, then from each item), or at SIGINT / SIGTERM, whichever comes
 * first. The first reason wins; the command then finishes its work (acks, leaving) and exits. A second
 * signal while it finishes exits at once with 130, as a shell expects of Ctrl-C.
 */

export type StopReason = "max" | "idle" | "signal";

/** The exit code of a process ended by a second Ctrl-C: 128 + SIGINT's number. */
const INTERRUPTED_EXIT_CODE = 130;

export interface StopCondition {
  /** Resolves with the first reason to stop. */
  readonly stopped: Promise<StopReason>;
  /** Counts one item and restarts the idle timer; reports whether this item reached `max`. */
  counted(): boolean;
  /** How many items were counted. */
  readonly count: number;
  /** Whether the command is stopping: items that come now are not counted. */
  readonly stopping: boolean;
  /** Starts the idle timer (once the command is ready to receive). */
  start(): void;
  /** Removes the signal handlers and timers. */
  dispose(): void;
}

export interface StopOptions {
  max?: number;
  timeoutMs?: number;
}

export function stopCondition(options: StopOptions): StopCondition {
  let count = 0;
  let reason: StopReason | undefined;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  let resolveStopped: (reason: StopReason) => void = () => {};
  const stopped = new Promise<StopReason>((resolve) => {
    resolveStopped = resolve;
  });

  const stop = (why: StopReason): void => {
    if (reason !== undefined) return;
    reason = why;
    clearTimeout(idleTimer);
    resolveStopped(why);
  };
  const restartIdleTimer = (): void => {
    if (options.timeoutMs === undefined || reason !== undefined) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => stop("idle"), options.timeoutMs);
  };
  const onSignal = (): void => {
    if (reason !== undefined) process.exit(INTERRUPTED_EXIT_CODE);
    stop("signal");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  return {
    stopped,
    get count() {
      return count;
    },
    get stopping() {
      return reason !== undefined;
    },
    counted() {
      count += 1;
      restartIdleTimer();
      const reached = options.max !== undefined && count >= options.max;
      if (reached) stop("max");
      return reached;
    },
    start: restartIdleTimer,
    dispose() {
      clearTimeout(idleTimer);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
