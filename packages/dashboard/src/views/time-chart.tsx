/**
 * A time chart drawn by uPlot on a canvas: one line per series over the samples kept (the last 15 minutes).
 * The chart is made once and given new data at each snapshot; it follows its container's width. uPlot sets
 * sizes through the CSSOM, which the page's CSP allows (it forbids style attributes and elements only).
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartLine {
  label: string;
  /** A CSS colour for the canvas. */
  color: string;
  values: Array<number | null>;
}

export interface TimeChartProps {
  title: string;
  /** Seconds since the epoch. */
  times: number[];
  lines: ChartLine[];
  /** The value axis's unit, after each tick: "/s", "". */
  unit?: string;
}

const HEIGHT = 180;
/** The time axis spans at least this many seconds, so the first samples do not stretch across the chart. */
const MIN_SPAN_SECONDS = 60;
/** Used until the container reports its width. */
const FALLBACK_WIDTH = 480;

export function TimeChart({ title, times, lines, unit = "" }: TimeChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const labels = lines.map((line) => `${line.label}:${line.color}`).join(",");
  const data: uPlot.AlignedData = [times, ...lines.map((line) => line.values)];

  // Made again only when the lines themselves change; new data goes through setData below.
  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const options: uPlot.Options = {
      width: element.clientWidth || FALLBACK_WIDTH,
      height: HEIGHT,
      series: [{}, ...lines.map((line) => ({ label: line.label, stroke: line.color, width: 1.5 }))],
      scales: {
        x: { time: true, range: (_chart, min, max) => [Math.min(min, max - MIN_SPAN_SECONDS), max] },
        y: { range: (_chart, _min, max) => [0, Math.max(1, max)] },
      },
      axes: [{}, { values: (_chart, ticks) => ticks.map((tick) => `${tick}${unit}`), size: 60 }],
      cursor: { drag: { x: false, y: false } },
    };
    const made = new uPlot(options, data, element);
    chart.current = made;
    const resize = new ResizeObserver(() => made.setSize({ width: element.clientWidth, height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      made.destroy();
      chart.current = null;
    };
  }, [labels, unit]);

  useEffect(() => {
    chart.current?.setData(data);
  });

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={container} class="chart-canvas" />
    </figure>
  );
}
