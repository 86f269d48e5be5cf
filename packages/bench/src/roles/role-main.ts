/**
 * The entry of a role process (see role-protocol.ts): forked by the bench, it makes the role `setup`
 * names (importing only that role's module), runs it on `start`, and exits after `close`. It writes
 * nothing to stdout.
 */
import type { ChildMessage, ParentMessage, Role } from "./role-protocol.js";

// The bench, not a user, writes each config: it crosses the IPC channel untyped.
// biome-ignore lint/suspicious/noExplicitAny: see above.
type RoleFactory = (config: any) => Promise<Role>;

const ROLES: Record<string, () => Promise<RoleFactory>> = {
  "queue-producer": async () => (await import("./queue-producer-role.js")).queueProducerRole,
  "queue-consumer": async () => (await import("./queue-consumer-role.js")).queueConsumerRole,
  "room-members": async () => (await import("./room-members-role.js")).roomMembersRole,
  "room-publisher": async () => (await import("./room-publisher-role.js")).roomPublisherRole,
  "socket-holder": async () => (await import("./socket-holder-role.js")).socketHolderRole,
};

let role: Role | undefined;

function reply(message: ChildMessage): void {
  process.send?.(message);
}

function failed(error: unknown): void {
  reply({ type: "failed", error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}

async function setup(name: string, config: unknown): Promise<void> {
  const load = ROLES[name];
  if (!load) throw new Error(`no role named ${name}`);
  role = await (await load())(config);
}

process.on("message", (message: ParentMessage) => {
  if (message.type === "setup") {
    setup(message.role, message.config).then(() => reply({ type: "ready" }), failed);
  } else if (message.type === "start") {
    if (!role) return failed(new Error("start before setup"));
    role.start().then((result) => reply({ type: "done", result }), failed);
  } else if (message.type === "close") {
    const closing = role?.close() ?? Promise.resolve();
    closing.catch(() => {}).finally(() => process.exit(0));
  }
});
process.on("disconnect", () => process.exit(0));
