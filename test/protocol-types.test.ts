/**
 * The protocol's types and its run-time schemas are one contract: each command's argument type
 * (`Commands[Name]["args"]`, which the server's handlers and the SDK are typed by) is exactly the static
 * type of the schema the node validates with (`COMMAND_ARGS[Name]`). Checked by `tsc -p test` in
 * `npm run lint`; the run-time part checks that every command has a schema.
 */
import type { CommandName, Commands } from "@mailroom/protocol";
import { COMMAND_ARGS } from "@mailroom/protocol";
import type { Static } from "@sinclair/typebox";
import { describe, expect, expectTypeOf, it } from "vitest";

type SchemaArgs = { [Name in CommandName]: Static<(typeof COMMAND_ARGS)[Name]> };
type DeclaredArgs = { [Name in CommandName]: Commands[Name]["args"] };

describe("the protocol's command types", () => {
  it("types each command's argument exactly as its schema validates it", () => {
    expectTypeOf<SchemaArgs>().toEqualTypeOf<DeclaredArgs>();
    // @ts-expect-error: a consume argument has no such field, whatever the handler says
    const unknownField: Commands["queue:consume"]["args"] = { queue: "q", prefetches: 1 };
    expect(unknownField).toBeDefined();
  });

  it("has a schema for every command", () => {
    const names: CommandName[] = [
      "room:join",
      "room:leave",
      "room:publish",
      "room:members",
      "queue:send",
      "queue:sendBatch",
      "queue:consume",
      "queue:cancel",
      "queue:ack",
      "queue:nack",
      "queue:extend",
      "queue:stats",
      "queue:purge",
      "queue:redrive",
    ];
    expect(Object.keys(COMMAND_ARGS).sort()).toEqual([...names].sort());
  });
});
