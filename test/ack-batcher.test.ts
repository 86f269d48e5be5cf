/**
 * The SDK's ack batcher (packages/client/src/ack-batcher.ts) on its own, on Vitest's clock: an ack waits up
 * to ACK_LINGER_MS for others to share its `queue:ack` while its consumption says it may, else it goes after
 * this turn (so the node is not kept short of credit), and `flushNow` sends at once.
 * The commands go to a recording function; the end-to-end form is in client-queues.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ACK_LINGER_MS, AckBatcher } from "../packages/client/src/ack-batcher.js";
import type { SendCommand } from "../packages/client/src/request.js";

/** A `send` that records each `queue:ack`'s receipts and answers it with none stale. */
function recordingSend(): { send: SendCommand; commands: string[][] } {
  const commands: string[][] = [];
  const send = (async (_name: string, args: { receipts: string[] }) => {
    commands.push(args.receipts);
    return { acked: args.receipts.length, stale: [] };
  }) as unknown as SendCommand;
  return { send, commands };
}

describe("AckBatcher", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("holds an ack up to ACK_LINGER_MS and sends it with the acks that came meanwhile", async () => {
    const { send, commands } = recordingSend();
    const acks = new AckBatcher("orders", send, () => true);
    const outcomes = [acks.ack("r1")];
    vi.advanceTimersByTime(1);
    outcomes.push(acks.ack("r2"));
    expect(commands).toEqual([]);
    vi.advanceTimersByTime(ACK_LINGER_MS - 1);
    expect(commands).toEqual([["r1", "r2"]]);
    await expect(Promise.all(outcomes)).resolves.toEqual([false, false]);
  });

  it("sends after this turn, without waiting, once the consumption says acks may not wait", () => {
    const { send, commands } = recordingSend();
    let mayWait = true;
    const acks = new AckBatcher("orders", send, () => mayWait);
    void acks.ack("r1");
    vi.runAllTicks();
    expect(commands).toEqual([]);
    mayWait = false;
    void acks.ack("r2");
    // The immediate after this turn sends both, with no time passed.
    vi.advanceTimersByTime(0);
    expect(commands).toEqual([["r1", "r2"]]);
  });

  it("sends what waits at once on flushNow, and nothing more when the linger ends", () => {
    const { send, commands } = recordingSend();
    const acks = new AckBatcher("orders", send, () => true);
    void acks.ack("r1");
    acks.flushNow();
    expect(commands).toEqual([["r1"]]);
    vi.advanceTimersByTime(ACK_LINGER_MS * 2);
    expect(commands).toEqual([["r1"]]);
  });
});
