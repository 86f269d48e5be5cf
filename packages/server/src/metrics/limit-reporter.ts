/**
 * Tells operators when a limit refuses work (docs/protocol.md §15, "Between tenants"): every refusal is
 * counted in `mailroom_limit_exceeded_total{limit, namespace}`, and logged as a warning that names the
 * limit, the setting that sets it, the namespace and the token's `sub` (absent with auth off).
 *
 * The log is rate-limited per limit and namespace, so a client hammering a limit cannot flood it: the
 * first refusal logs at once, the others within `LOG_WINDOW_MS` of that line are only counted, and that
 * count is logged as `suppressed` with the next line or, when none comes, in a summary line once the
 * window is over. Each refusal thus appears once, in a line or in a count. At most `MAX_TRACKED_WINDOWS`
 * namespaces are tracked at a time: refusals in others share one window per limit, so the number of
 * lines per window is bounded whatever namespaces a client invents.
 */
import type { FastifyBaseLogger } from "fastify";

/** Each limit that refuses work, with the `mailroom serve` flag that sets it. */
export const LIMIT_SETTINGS = {
  namespaces_per_connection: "--max-namespaces-per-connection",
  consumers_per_connection: "--max-consumers-per-connection",
  rooms_per_connection: "--max-rooms-per-connection",
  long_polls: "--max-long-polls",
  commands_per_second: "--commands-per-second",
} as const;

export type LimitName = keyof typeof LIMIT_SETTINGS;

/** One log line per limit and namespace in this long; the other refusals in it are only counted. */
const LOG_WINDOW_MS = 10_000;
/** How often windows that are over are summed up and forgotten. */
const SWEEP_INTERVAL_MS = 1000;
/** Namespaces with a window of their own at a time; refusals in others share one window per limit. */
const MAX_TRACKED_WINDOWS = 50;
/** The namespace a shared window's summary names. */
const OTHER_NAMESPACES = "_other";

export interface LimitReporterOptions {
  logger: FastifyBaseLogger;
  /** Each limit's setting, logged with its refusals. */
  maxima: Readonly<Record<LimitName, number>>;
  /** Told of every refusal (the metrics counter). */
  counted: (limit: LimitName, namespace: string) => void;
}

interface LogWindow {
  limit: LimitName;
  /** The namespace the window is for, or `_other` for a shared one. */
  namespace: string;
  openedAt: number;
  suppressed: number;
}

export class LimitReporter {
  private readonly windows = new Map<string, LogWindow>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LimitReporterOptions) {}

  start(): void {
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  close(): void {
    clearInterval(this.sweepTimer);
  }

  /** A limit refused work in `namespace`, for the token whose `sub` is `sub`. */
  exceeded(limit: LimitName, namespace: string, sub: string | undefined): void {
    this.options.counted(limit, namespace);
    const now = performance.now();
    const own = `${limit}\n${namespace}`;
    const shared = !this.windows.has(own) && this.windows.size >= MAX_TRACKED_WINDOWS;
    const key = shared ? limit : own;
    const window = this.windows.get(key);
    if (window && now - window.openedAt < LOG_WINDOW_MS) {
      window.suppressed += 1;
      return;
    }
    const max = this.options.maxima[limit];
    this.options.logger.warn(
      { limit, namespace, ...(sub === undefined ? {} : { sub }), max, suppressed: window?.suppressed ?? 0 },
      `limit exceeded: ${limit} (${LIMIT_SETTINGS[limit]} ${max})`,
    );
    this.windows.set(key, { limit, namespace: shared ? OTHER_NAMESPACES : namespace, openedAt: now, suppressed: 0 });
  }

  /** Logs what the windows that are over suppressed, and forgets them. */
  private sweep(): void {
    const now = performance.now();
    for (const [key, window] of this.windows) {
      if (now - window.openedAt < LOG_WINDOW_MS) continue;
      this.windows.delete(key);
      if (window.suppressed === 0) continue;
      const { limit, namespace, suppressed } = window;
      this.options.logger.warn(
        { limit, namespace, max: this.options.maxima[limit], suppressed },
        `limit exceeded: ${limit} (${LIMIT_SETTINGS[limit]} ${this.options.maxima[limit]}), ` +
          `${suppressed} more times in ${LOG_WINDOW_MS / 1000} s`,
      );
    }
  }
}
