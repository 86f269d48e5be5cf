/**
 * The `mailroom` command line: one subcommand per file under commands/. Only the CLI writes to stdout.
 * Exit codes: 0 done; 2 bad usage or configuration (an unknown flag, a bad value); others per command.
 */
import { Command, type CommanderError } from "commander";
import { serveCommand } from "./commands/serve.js";

/** Exit code of a command line that could not be understood. */
export const USAGE_EXIT_CODE = 2;

export async function main(argv: string[]): Promise<void> {
  const program = new Command("mailroom")
    .description("Mailroom: queues and rooms over Socket.IO and HTTP, on Redis or in memory.")
    .showHelpAfterError()
    .addCommand(serveCommand());
  for (const command of [program, ...program.commands]) command.exitOverride(exitWithUsageCode);
  await program.parseAsync(argv);
}

/** Commander's own exits: help and version stay 0; every usage error becomes USAGE_EXIT_CODE. */
function exitWithUsageCode(error: CommanderError): never {
  process.exit(error.exitCode === 0 ? 0 : USAGE_EXIT_CODE);
}
