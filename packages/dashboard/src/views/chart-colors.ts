/**
 * The charts' colours, for the canvas (uPlot) and kept equal to the CSS of the sparklines and legends
 * (styles.css): one hue per line kind everywhere on the page. Chosen to stay apart for common colour blindness.
 */
export const RATE_COLORS = { send: "#1f6feb", ack: "#1a7f37" } as const;

export const DEPTH_COLORS = {
  ready: "#1f6feb",
  inflight: "#8250df",
  delayed: "#9a6700",
  deadLettered: "#cf222e",
} as const;
