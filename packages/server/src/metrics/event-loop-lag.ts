/**
 * This node's event-loop delay, as the dashboard shows it (docs/protocol.md §12): the mean delay since the
 * last reading, from Node's own sampler (perf_hooks), in ms.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

/** The sampler's resolution (ms): a delay shorter than this is not seen. */
const RESOLUTION_MS = 10;

export class EventLoopLag {
  private readonly histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  constructor() {
    this.histogram.enable();
  }

  /** The mean delay since the last call beyond the sampler's own interval (ms, 0.1 precision), then starts over. */
  read(): number {
    const mean = this.histogram.count > 0 ? this.histogram.mean / 1e6 : RESOLUTION_MS;
    this.histogram.reset();
    return Math.max(0, Math.round((mean - RESOLUTION_MS) * 10) / 10);
  }

  close(): void {
    this.histogram.disable();
  }
}
