/**
 * HTTP send throughput: autocannon (in the bench's process) POSTs one 200-byte JSON message per request
 * to Mailroom's `POST /v1/namespaces/_/queues/{queue}/messages` (docs/protocol.md §6) on node A, to a raw
 * Fastify route of the same shape that LPUSHes the data, and to a raw Fastify route that does nothing
 * (the HTTP ceiling of this machine). A warm-up run first, not counted.
 */
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { CpuMeter, cpuMicrosecondsPer } from "../infra/process-stats.js";
import { ServerProcess } from "../infra/server-process.js";
import { RedisUsageMeter } from "../measure/redis-usage.js";
import { perSecond } from "../result.js";
import { payload } from "../systems/payload.js";
import type { BenchContext, Scenario } from "./bench-context.js";
import { describeCpu } from "./queue-run.js";

const FASTIFY_SERVER = fileURLToPath(new URL("../peer-servers/fastify-server.js", import.meta.url));

interface HttpTarget {
  system: string;
  url: string;
  pid: number | undefined;
  usesRedis: boolean;
}

export const httpSend: Scenario = {
  name: "http-send",
  about: "HTTP sends/s (one message per POST) with autocannon",
  async run(context: BenchContext) {
    const fastify = await ServerProcess.start({
      label: "fastify server",
      script: FASTIFY_SERVER,
      args: ["--port", "{port}", "--redis", context.redis.url],
      readyPath: "/healthz",
    });
    const queuePath = `/v1/namespaces/_/queues/bench-http-${context.runId}/messages`;
    const targets: HttpTarget[] = [
      { system: "mailroom", url: `${context.nodeA.url}${queuePath}`, pid: context.nodeA.pid, usesRedis: true },
      { system: "fastify+lpush", url: `${fastify.url}${queuePath}`, pid: fastify.pid, usesRedis: true },
      { system: "fastify-hello", url: `${fastify.url}/hello`, pid: fastify.pid, usesRedis: false },
    ];
    try {
      for (const target of targets) await measure(context, target);
    } finally {
      await fastify.kill();
    }
  },
};

async function measure(context: BenchContext, target: HttpTarget): Promise<void> {
  const { httpSeconds, httpWarmupSeconds, httpConnections } = context.sizes;
  context.progress(`http-send: ${target.system}, ${httpConnections} connections for ${httpSeconds} s`);
  const options = {
    url: target.url,
    method: "POST" as const,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data: payload(0) }),
    connections: httpConnections,
  };
  if (httpWarmupSeconds > 0) await autocannon({ ...options, duration: httpWarmupSeconds });
  const usage = target.usesRedis ? await RedisUsageMeter.begin([context.redis]) : undefined;
  const cpu = new CpuMeter({
    redis: target.usesRedis ? context.redis.pid : undefined,
    server: target.pid,
    "autocannon (bench)": process.pid,
  });
  const result = await autocannon({ ...options, duration: httpSeconds });
  const cpuReading = cpu.read();
  const cpuCores = cpuReading.cores;
  const ok = result["2xx"];
  const redis = (await usage?.end(Math.max(ok, 1)))?.total;
  context.report({
    name: "http-send",
    system: target.system,
    msgsPerSec: perSecond(ok, result.duration * 1000),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    redisCpuUsPerMsg: redis?.cpuUsPerMsg ?? null,
    cpuUsPerMsg: cpuMicrosecondsPer(cpuReading, ok),
    notes: [
      `${ok} 2xx in ${result.duration.toFixed(1)} s over ${httpConnections} connections`,
      result.non2xx + result.errors + result.timeouts > 0
        ? `${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`
        : "no errors",
      `CPU cores: ${describeCpu(cpuCores)}`,
    ].join("; "),
    details: { ok, non2xx: result.non2xx, errors: result.errors, redis, cpuCores },
  });
}
