/**
 * `mailroom serve`: starts one node with the settings of serve-settings.ts (docs/protocol.md §9); each flag
 * has an environment twin, and a flag wins over its twin. A bad setting exits 2 naming its flag and
 * variable: a value out of range, a key the node cannot use, a key file that cannot be read (the public
 * key's file is read here; the secret's file by the server's config). An address the node cannot listen
 * on (the port in use, a port that needs privileges, a host not on this machine) exits 2 too, with a hint
 * at the flag that changes it. SIGTERM or SIGINT drains the node (see the server's node.ts) and exits 0
 * within 10 s.
 */
import { readFileSync } from "node:fs";
import { ConfigError, createNode, type MailroomNode, type NodeConfig, type NodeOptions } from "@mailroom/server";
import { Command, type InvalidArgumentError } from "commander";
import { describeSetting, optionOf, SERVE_SETTINGS, switchFromEnv } from "./serve-settings.js";

/** A node that has not closed by then exits anyway, inside the contract's 10 seconds. */
const CLOSE_DEADLINE_MS = 9500;

export function serveCommand(): Command {
  const command = new Command("serve")
    .description("start a Mailroom node (memory engine without --redis, Redis cluster mode with it)")
    .addHelpText(
      "after",
      "\nExamples:\n  mailroom serve\n  REDIS_URL=redis://127.0.0.1:6379 mailroom serve --port 3001\n" +
        "  mailroom serve --host 0.0.0.0 --jwt-secret-file /etc/mailroom/jwt-secret --redis redis://redis:6379",
    );
  for (const setting of SERVE_SETTINGS) command.addOption(optionOf(setting));
  return command.action(async (flags: Record<string, unknown>) => {
    await serve(createOrExit(() => createNode(nodeOptions(command, flags))));
  });
}

/** Creates the node, or exits 2 naming the flag and variable of a bad setting. */
function createOrExit(create: () => MailroomNode): MailroomNode {
  try {
    return create();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const named = describeSetting(error.setting);
    console.error(`mailroom serve: ${named ? `${named} ${error.problem}` : error.message}`);
    process.exit(2);
  }
}

/** Maps the parsed flags (named by commander after the flag, not the setting) onto the node's options. */
function nodeOptions(command: Command, flags: Record<string, unknown>): NodeOptions {
  const options: Record<string, unknown> = {};
  for (const setting of SERVE_SETTINGS) {
    const name = command.options.find((option) => option.long === setting.flag)?.attributeName();
    if (name === undefined) continue;
    let value = flags[name];
    if (setting.kind === "switch" && command.getOptionValueSource(name) !== "cli") {
      try {
        value = switchFromEnv(setting, process.env) ?? value;
      } catch (error) {
        command.error(`error: ${(error as InvalidArgumentError).message}`, { exitCode: 2 });
      }
    }
    options[setting.key] = value;
  }
  if (typeof options.jwtPublicKey === "string") options.jwtPublicKey = readPem(options.jwtPublicKey);
  return options as NodeOptions;
}

/**
 * The public key setting holds PEM text or the path of a PEM file. A path that cannot be read is not
 * repeated in the error: a value given here by mistake may be a secret.
 */
function readPem(value: string): string {
  if (value.includes("-----BEGIN")) return value;
  try {
    return readFileSync(value, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(
      "jwtPublicKey",
      `must be PEM text or the path of a readable PEM file, could not read the file it names (${reason})`,
    );
  }
}

async function serve(node: MailroomNode): Promise<void> {
  const log = node.app.log;
  process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled rejection"));
  // Logged in the node's own format before Node ends the process as usual: an uncaught exception is a
  // bug to fix where it is thrown, never one to swallow here.
  process.on("uncaughtExceptionMonitor", (error, origin) =>
    log.fatal({ err: error, origin }, "uncaught exception: exiting"),
  );
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, "draining");
    // The contract promises an exit within 10 s: a close that hangs must not keep the process alive.
    setTimeout(() => {
      log.error("close took too long; exiting");
      process.exit(1);
    }, CLOSE_DEADLINE_MS).unref();
    node.close().then(
      () => {
        log.info("closed");
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, "close failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  try {
    await node.start();
  } catch (error) {
    const problem = listenProblem(error, node.config);
    if (problem === undefined) throw error;
    console.error(`mailroom serve: ${problem}`);
    process.exit(2);
  }
}

/** What to say about a listen error that a setting fixes; undefined for any other error. */
function listenProblem(error: unknown, config: NodeConfig): string | undefined {
  const port = describeSetting("port");
  const host = describeSetting("host");
  switch ((error as NodeJS.ErrnoException).code) {
    case "EADDRINUSE":
      return `port ${config.port} is in use: pick another with ${port}`;
    case "EACCES":
      return `port ${config.port} needs privileges this process lacks: pick one above 1023 with ${port}`;
    case "EADDRNOTAVAIL":
      return `${config.host} is not an address of this machine: pick another with ${host}`;
    default:
      return undefined;
  }
}
