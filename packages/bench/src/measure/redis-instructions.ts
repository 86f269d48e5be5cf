/**
 * Instructions a redis-server executes, counted by valgrind's callgrind: the server runs under callgrind
 * (RedisServer's `launcher`), and each `since()` dumps the counts (callgrind_control) and gives what ran
 * since the last one. Runs of the same work agree within about 1%, whatever else the machine does, so a
 * change of a few percent shows where timings cannot (BENCHMARKS.md, "Grouped paths counted in
 * instructions"). Used by the scripts/measure-*.mjs scripts; needs valgrind (apt-get install valgrind).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisServer } from "../infra/redis-server.js";

const DUMP_NAME = /^cg\.\d+\.\d+$/;
const TOTAL_LINE = /^(?:summary|totals): (\d+)/m;

export class RedisInstructionCounter {
  private constructor(
    readonly server: RedisServer,
    private readonly folder: string,
  ) {}

  /** Starts a redis-server of its own under callgrind (counting from its start). */
  static async start(): Promise<RedisInstructionCounter> {
    const folder = mkdtempSync(join(tmpdir(), "mailroom-callgrind-"));
    const server = await RedisServer.start({
      launcher: [
        "valgrind",
        "--tool=callgrind",
        `--callgrind-out-file=${join(folder, "cg.%p")}`,
        "--dump-instr=no",
        "--collect-jumps=no",
      ],
    });
    return new RedisInstructionCounter(server, folder);
  }

  /** Instructions executed since the last call (or since the start). */
  since(): number {
    const dumps = () => readdirSync(this.folder).filter((name) => DUMP_NAME.test(name));
    for (const name of dumps()) rmSync(join(this.folder, name));
    execFileSync("callgrind_control", ["--dump", String(this.server.pid)], { stdio: "ignore" });
    const [dump] = dumps();
    if (!dump) throw new Error("callgrind wrote no dump");
    return Number(TOTAL_LINE.exec(readFileSync(join(this.folder, dump), "utf8"))?.[1]);
  }

  async stop(): Promise<void> {
    await this.server.stop();
    rmSync(this.folder, { recursive: true, force: true });
  }
}
