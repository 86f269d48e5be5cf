/**
 * A progress bar on stderr for long work (`send --count N`), drawn by `cli-progress`. Shown by default only
 * when stderr is a terminal, so logs and pipes stay clean; `--progress` forces it (a line now and then on a
 * file or pipe), `--no-progress` hides it. It never writes to stdout, which carries results.
 */
import { Presets, SingleBar } from "cli-progress";

export interface Progress {
  /** Moves the bar on by `done` units. */
  advance(done: number): void;
  /** Draws the bar one last time and leaves the line. */
  stop(): void;
}

/** How often the bar redraws on a file or pipe, when forced there: rarely, it is a log then. */
const NOT_TTY_REDRAW_MS = 1000;

/** Whether to draw a bar: forced on or off by the flag, else only on a terminal. */
export function wantsProgress(flag: boolean | undefined): boolean {
  return flag ?? process.stderr.isTTY === true;
}

/** Starts a bar of `total` units labelled `label`, or one that draws nothing when `shown` is false. */
export function startProgress(label: string, total: number, shown: boolean): Progress {
  if (!shown) return { advance: () => {}, stop: () => {} };
  const bar = new SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} | {duration_formatted} | ETA {eta_formatted}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: NOT_TTY_REDRAW_MS,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    advance: (done) => bar.increment(done),
    stop: () => bar.stop(),
  };
}
