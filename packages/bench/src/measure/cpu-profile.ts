/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and says where the process spent its time: self time per
 * function and per package, over one window of the run (profile timestamps are the machine's monotonic
 * clock in µs, the same as `process.hrtime`, so the bench can cut start-up and shutdown away).
 * Percentages are of the busy time in the window: everything but `(idle)`.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  selfMs: number;
  /** Of the busy (non-idle) time in the window. */
  selfPercent: number;
}

export interface ProfileSummary {
  windowMs: number;
  busyMs: number;
  /** Busy time ÷ window: how many of a core's milliseconds the process used. */
  busyCores: number;
  functions: HotSpot[];
  packages: HotSpot[];
}

/** The window to keep, in µs of `process.hrtime` (monotonic clock). */
export interface Window {
  fromUs: number;
  toUs: number;
}

export function monotonicMicroseconds(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function summarizeProfile(path: string, window: Window, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let busyUs = 0;
  let time = profile.startTime;
  for (let index = 0; index < profile.samples.length; index += 1) {
    time += profile.timeDeltas[index] ?? 0;
    // A sample stands for the time until the next one.
    const durationUs = profile.timeDeltas[index + 1] ?? 0;
    if (time < window.fromUs || time > window.toUs) continue;
    const frame = frames.get(profile.samples[index] ?? -1);
    if (!frame || frame.functionName === "(idle)") continue;
    busyUs += durationUs;
    const where = location(frame.url);
    const name = `${frame.functionName || "(anonymous)"}${where ? ` ${where}:${frame.lineNumber + 1}` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + durationUs);
    const area = packageOf(frame);
    byPackage.set(area, (byPackage.get(area) ?? 0) + durationUs);
  }
  const windowUs = window.toUs - window.fromUs;
  const ranked = (totals: Map<string, number>) =>
    [...totals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({
        name,
        selfMs: Math.round(us / 100) / 10,
        selfPercent: busyUs > 0 ? Math.round((us / busyUs) * 1000) / 10 : 0,
      }));
  return {
    windowMs: Math.round(windowUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    busyCores: windowUs > 0 ? Math.round((busyUs / windowUs) * 100) / 100 : 0,
    functions: ranked(byFunction),
    packages: ranked(byPackage),
  };
}

/** A script's path from the project's root or from node_modules, without `file://`. */
function location(url: string): string {
  if (!url) return "";
  const path = url.replace(/^file:\/\//, "");
  const modules = path.lastIndexOf("/node_modules/");
  if (modules >= 0) return path.slice(modules + "/node_modules/".length);
  const packages = path.lastIndexOf("/packages/");
  if (packages >= 0) return path.slice(packages + 1);
  return path;
}

/** What a frame belongs to: an npm package, a Mailroom package, Node's own code, or V8's bookkeeping. */
function packageOf(frame: ProfileNode["callFrame"]): string {
  const path = frame.url.replace(/^file:\/\//, "");
  if (!path) return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  if (path.startsWith("node:")) return "node: (Node.js core)";
  const modules = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path.slice(path.lastIndexOf("/node_modules/")));
  if (modules) return modules[1] ?? path;
  const packages = /\/packages\/([^/]+)\//.exec(path);
  if (packages) return `@mailroom/${packages[1]}`;
  return path;
}
