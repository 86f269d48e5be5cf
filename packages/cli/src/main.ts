/**
 * The `mailroom` command line: one subcommand per file under commands/. Only the CLI writes to stdout.
 * `serve` starts a node; the others talk to one through `@mailroom/client` (docs/cli.md).
 *
 * A command line commander refuses (unknown flag, missing argument, bad value) exits 2 after the usage line
 * docs/cli.md documents, `mailroom <command>: USAGE: <message>` (`mailroom: USAGE: …` for the program
 * itself), and a hint; `--help` exits 0. Failures of the commands themselves become exit codes in failure.ts.
 * A client command does not load the server package (`serve` and the top-level help do): it starts in
 * half the time, which a shell loop of `mailroom send` notices.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { benchCommand } from "./commands/bench.js";
import { consumeCommand } from "./commands/consume.js";
import { publishCommand } from "./commands/publish.js";
import { sendCommand } from "./commands/send.js";
import { statsCommand } from "./commands/stats.js";
import { subscribeCommand } from "./commands/subscribe.js";
import { EXIT_CODES, usageLine } from "./failure.js";
import { exitWhenStdoutCloses } from "./output.js";

/** The commands that speak through `@mailroom/client`, by name. */
const CLIENT_COMMANDS: ReadonlyMap<string, () => Command> = new Map([
  ["send", sendCommand],
  ["consume", consumeCommand],
  ["stats", statsCommand],
  ["publish", publishCommand],
  ["subscribe", subscribeCommand],
  ["bench", benchCommand],
]);

export async function main(argv: string[]): Promise<void> {
  exitWhenStdoutCloses();
  const program = new Command("mailroom")
    .description("Mailroom: queues and rooms over Socket.IO and HTTP, on Redis or in memory.")
    .version(packageVersion(), "-v, --version", "print the version and exit")
    .showHelpAfterError()
    .configureOutput({ outputError: (message, write) => write(usageLine(undefined, message)) });
  const commandName = argv[2];
  if (commandName === undefined || !CLIENT_COMMANDS.has(commandName)) {
    const { serveCommand } = await import("./commands/serve.js");
    program.addCommand(serveCommand());
  }
  for (const makeCommand of CLIENT_COMMANDS.values()) program.addCommand(makeCommand());
  program.exitOverride();
  for (const command of program.commands) {
    command
      .exitOverride()
      .showHelpAfterError(`(run "mailroom ${command.name()} --help" for usage)`)
      .configureOutput({ outputError: (message, write) => write(usageLine(command.name(), message)) });
  }
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // Commander has written its message (or the help) already.
    process.exitCode = error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  }
}

/** This package's version, from its package.json (shipped in the tarball beside dist/). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}
