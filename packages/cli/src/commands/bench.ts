/**
 * `mailroom bench`: runs the project's benchmark (packages/bench, the same as `npm run bench`) with the
 * arguments given, in a process of its own, and exits with its code. The bench lives in a checkout of the
 * Mailroom repository, not in the published CLI: elsewhere the command says so and exits 2.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Command } from "commander";

function benchMain(): string | undefined {
  try {
    return fileURLToPath(import.meta.resolve("@mailroom/bench/main"));
  } catch {
    return undefined;
  }
}

export function benchCommand(): Command {
  return new Command("bench")
    .description("measure Mailroom beside BullMQ, raw Redis lists, RabbitMQ and Socket.IO (mailroom bench --help)")
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument("[arguments...]", "passed to the bench: --quick, --smoke, --only <scenarios>, --json, --profile")
    .action(async (benchArguments: string[]) => {
      const main = benchMain();
      if (!main) {
        console.error("mailroom bench: the bench comes with a checkout of the Mailroom repository (npm run bench)");
        process.exit(2);
      }
      const child = spawn(process.execPath, [main, ...benchArguments], { stdio: "inherit" });
      const code = await new Promise<number>((resolve) => child.once("exit", (exitCode) => resolve(exitCode ?? 1)));
      process.exitCode = code;
    });
}
