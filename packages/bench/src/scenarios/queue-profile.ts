/**
 * Where Mailroom's queue CPU goes: the queue-throughput run (saturation) and the queue-latency run (a
 * steady rate) for Mailroom, each on two fresh nodes started with `node --cpu-prof`, and Redis's
 * `INFO commandstats`. Reports, for each run and node (A: the producer's, B: the consumer's), the
 * functions and packages with the most self time, and Redis's µs per script call and per message. The
 * profiles stay in `profileDir` for DevTools.
 */
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ServerProcess } from "../infra/server-process.js";
import { type ProfileSummary, summarizeProfile } from "../measure/cpu-profile.js";

import { type BenchContext, runsSystem, type Scenario } from "./bench-context.js";
import { describeCpu, runFigures, runQueue } from "./queue-run.js";

/** The two runs profiled: at saturation, and at the latency run's steady rate. */
type ProfiledRun = "saturation" | "steady";

export function queueProfile(profileDir: string): Scenario {
  return {
    name: "queue-profile",
    about: "CPU profile of both nodes and Redis commandstats during Mailroom's throughput and latency runs",
    async run(context: BenchContext) {
      // Mailroom through the SDK, and through the stock client too when `--systems` names it.
      const systems = PROFILED_SYSTEMS.filter((system) => system === "mailroom" || context.systems?.has(system));
      for (const system of systems) {
        if (!runsSystem(context, system)) continue;
        for (const kind of ["saturation", "steady"] as const) await profileRun(context, profileDir, kind, system);
      }
    },
  };
}

const PROFILED_SYSTEMS = ["mailroom", "mailroom-stock"] as const;

async function profileRun(
  context: BenchContext,
  profileDir: string,
  kind: ProfiledRun,
  system: (typeof PROFILED_SYSTEMS)[number],
): Promise<void> {
  const { throughputMessages, latencyRate, latencySeconds } = context.sizes;
  const steady = kind === "steady";
  const messages = steady ? Math.round(latencyRate * latencySeconds) : throughputMessages;
  context.progress(
    `queue-profile: ${system} ${kind} with --cpu-prof, ${messages} messages (profiles in ${profileDir})`,
  );
  const nodeDir = (label: string) => {
    const dir = join(profileDir, `${context.runId}-${system}-${kind}-${label}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const dirs = { A: nodeDir("node-a"), B: nodeDir("node-b") };
  const start = (label: "A" | "B") =>
    ServerProcess.mailroomNode({
      label: `profiled node ${label}`,
      redisUrl: context.redis.url,
      prefix: `${context.prefix}-profile-${system}-${kind}`,
      nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dirs[label]}`],
    });
  const [nodeA, nodeB] = await Promise.all([start("A"), start("B")]);
  let window = { fromUs: 0, toUs: 0 };
  let run: Awaited<ReturnType<typeof runQueue>>;
  try {
    run = await runQueue(
      { ...context, nodeA, nodeB },
      {
        system,
        queues: [`bench-profile-${system}-${kind}-${context.runId}`],
        mode: steady ? "steady" : "burst",
        messages,
        ratePerSecond: steady ? latencyRate : 0,
        warmup: 0,
        scriptCosts: true,
        onWindow: (fromUs, toUs) => {
          window = { fromUs, toUs };
        },
      },
    );
  } finally {
    // A profile is written when its process exits normally: SIGTERM, not SIGKILL.
    await Promise.all([nodeA.stop(), nodeB.stop()]);
  }
  const profiles: Record<string, ProfileSummary> = {};
  for (const [label, dir] of Object.entries(dirs)) {
    const file = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
    if (file) profiles[`node ${label}`] = summarizeProfile(join(dir, file), window);
  }
  context.report({
    name: "queue-profile",
    system,
    ...runFigures(run, messages),
    notes: [
      steady
        ? `queue-latency (${latencyRate} msg/s) with node --cpu-prof`
        : "queue-throughput with node --cpu-prof (slower than without)",
      `${run.redis?.commandsPerMsg} Redis cmds/msg`,
      `CPU cores: ${describeCpu(run.cpu.cores)}`,
    ].join("; "),
    details: {
      run: kind,
      messages,
      profileDir,
      redis: run.redis,
      redisScripts: run.scripts,
      cpuCores: run.cpu.cores,
      profiles,
    },
  });
}
