/** How numbers, rates, sizes and ages read on the page: English digit grouping, units spelled short. */

export function count(value: number): string {
  return value.toLocaleString("en");
}

/** Messages per second: one decimal below 10, whole above; a dash when unknown. */
export function rate(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  return value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString("en");
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

export function bytes(value: number): string {
  let scaled = value;
  let unit = 0;
  while (scaled >= 1024 && unit < BYTE_UNITS.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${unit === 0 ? scaled : scaled.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** A span of time, coarsely: `850 ms`, `12 s`, `4 min 5 s`, `3 h 20 min`, `2 d 4 h`. */
export function duration(milliseconds: number): string {
  const ms = Math.max(0, milliseconds);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** A clock time in the browser's zone, to the second. */
export function clock(epochMilliseconds: number): string {
  return new Date(epochMilliseconds).toLocaleTimeString("en-GB", { hour12: false });
}
