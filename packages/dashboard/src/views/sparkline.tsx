/**
 * A queue's send and ack rates over the samples kept, as two lines in a small SVG for a table row (a uPlot
 * per row would cost a canvas each). Drawn with presentation attributes and classes only, no inline style,
 * as the page's CSP requires. Gaps (no rate for a sample) break the line.
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
  const { sendRate, ackRate } = series.values;
  const maximum = Math.max(1, ...sendRate.map((value) => value ?? 0), ...ackRate.map((value) => value ?? 0));
  return (
    <svg class="sparkline" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img">
      <title>{`send and ack rates since this page opened, up to ${Math.round(maximum)}/s`}</title>
      <path class="sparkline-send" d={path(sendRate, maximum)} />
      <path class="sparkline-ack" d={path(ackRate, maximum)} />
    </svg>
  );
}

/** An SVG path through the values, a new subpath after each gap. */
function path(values: ReadonlyArray<number | null>, maximum: number): string {
  const step = WIDTH / Math.max(1, values.length - 1);
  let d = "";
  let drawing = false;
  values.forEach((value, index) => {
    if (value === null) {
      drawing = false;
      return;
    }
    const x = (index * step).toFixed(1);
    const y = (HEIGHT - PADDING - (value / maximum) * (HEIGHT - 2 * PADDING)).toFixed(1);
    d += `${drawing ? "L" : "M"}${x} ${y}`;
    drawing = true;
  });
  return d;
}
