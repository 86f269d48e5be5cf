/**
 * The `mailroom` command line: one subcommand per file under commands/. Only the CLI writes to stdout.
 * `serve` starts a node; the others talk to one through `@mailroom/client` (docs/cli.md).
 *
 * A command line commander refuses (unknown flag, missing argument, bad value) exits 2 after its message
 * and a hint; `--help` exits 0. Failures of the commands themselves become exit codes in failure.ts.
 */
import { Command, CommanderError } from "commander";
import { consumeCommand } from "./commands/consume.js";
import { publishCommand } from "./commands/publish.js";
import { sendCommand } from "./commands/send.js";
import { serveCommand } from "./commands/serve.js";
import { statsCommand } from "./commands/stats.js";
import { subscribeCommand } from "./commands/subscribe.js";
import { EXIT_CODES } from "./failure.js";

export async function main(argv: string[]): Promise<void> {
  const program = new Command("mailroom")
    .description("Mailroom: queues and rooms over Socket.IO and HTTP, on Redis or in memory.")
    .showHelpAfterError()
    .addCommand(serveCommand())
    .addCommand(sendCommand())
    .addCommand(consumeCommand())
    .addCommand(statsCommand())
    .addCommand(publishCommand())
    .addCommand(subscribeCommand());
  program.exitOverride();
  for (const command of program.commands) {
    command.exitOverride().showHelpAfterError(`(run "mailroom ${command.name()} --help" for usage)`);
  }
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // Commander has written its message (or the help) already.
    process.exitCode = error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  }
}
