/**
 * The two flags every peer server takes: `--port <port> --redis <url>`.
 */
import { parseArgs } from "node:util";

export function serverArgs(): { port: number; redisUrl: string } {
  const { values } = parseArgs({ options: { port: { type: "string" }, redis: { type: "string" } } });
  if (!values.port || !values.redis) throw new Error("usage: --port <port> --redis <url>");
  return { port: Number(values.port), redisUrl: values.redis };
}
