/**
 * The `mailroom` command line: one subcommand per file under commands/. Only the CLI writes to stdout.
 */
import { Command } from "commander";
import { benchCommand } from "./commands/bench.js";
import { serveCommand } from "./commands/serve.js";

export async function main(argv: string[]): Promise<void> {
  const program = new Command("mailroom")
    .description("Mailroom: queues and rooms over Socket.IO and HTTP, on Redis or in memory.")
    .showHelpAfterError()
    .addCommand(serveCommand())
    .addCommand(benchCommand());
  await program.parseAsync(argv);
}
