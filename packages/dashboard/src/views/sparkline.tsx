/**
 * A queue's send and ack rates over the samples kept, as two lines in a small SVG for a table row (a uPlot
 * per row would cost a canvas each), placed by time: the past samples' ten-second steps and the live
 * one-second ones each take their share of the width. Drawn with presentation attributes and classes only,
 * no inline style, as the page's CSP requires. Gaps (no rate for a sample) break the line.
 */
import type { ChartSeries } from "../state/sample-history.js";

const WIDTH = 120;
const HEIGHT = 28;
/** Room at the top and bottom so a line at the maximum or at zero stays visible. */
const PADDING = 2;

export function Sparkline({ series }: { series: ChartSeries | undefined }) {
  if (series === undefined || series.times.length < 2) {
    return <svg class="sparkline" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} aria-hidden="true" />;
  }
  const { times } = series;
  const { sendRate, ackRate } = series.values;
  const maximum = Math.max(1, ...sendRate.map((value) => value ?? 0), ...ackRate.map((value) => value ?? 0));
  return (
    <svg class="sparkline" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img">
      <title>{`send and ack rates over the last 15 minutes, up to ${Math.round(maximum)}/s`}</title>
      <path class="sparkline-send" d={path(times, sendRate, maximum)} />
      <path class="sparkline-ack" d={path(times, ackRate, maximum)} />
    </svg>
  );
}

/** An SVG path through the values at their times, a new subpath after each gap. */
function path(times: readonly number[], values: ReadonlyArray<number | null>, maximum: number): string {
  const first = times[0] as number;
  const span = Math.max(1e-9, (times[times.length - 1] as number) - first);
  let d = "";
  let drawing = false;
  values.forEach((value, index) => {
    if (value === null) {
      drawing = false;
      return;
    }
    const x = ((((times[index] as number) - first) / span) * WIDTH).toFixed(1);
    const y = (HEIGHT - PADDING - (value / maximum) * (HEIGHT - 2 * PADDING)).toFixed(1);
    d += `${drawing ? "L" : "M"}${x} ${y}`;
    drawing = true;
  });
  return d;
}
