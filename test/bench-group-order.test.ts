/**
 * The bench's two halves of the group order check (issue 17, `npm run bench -- --only queue-groups`): the
 * producer's GroupSendOrder, which starts a group's send only once its previous one is accepted, and the
 * consumer's GroupOrderChecker, which counts first deliveries out of send order and a group's messages
 * out at once. Both must catch what they claim to, or a run that reports 0 violations means nothing.
 */
import { describe, expect, it } from "vitest";
import { GroupOrderChecker } from "../packages/bench/src/measure/group-order.js";
import { GroupSendOrder } from "../packages/bench/src/roles/group-send-order.js";
import { groupOf, type Payload, payload } from "../packages/bench/src/systems/payload.js";

const GROUPS = 3;
const message = (seq: number): Payload => payload(seq, 0, groupOf(seq, GROUPS));
const first = (seq: number) => ({ group: groupOf(seq, GROUPS), attempt: 1 });
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("GroupOrderChecker", () => {
  it("counts nothing when each group's messages come in send order, each in a later turn than the last", async () => {
    const checker = new GroupOrderChecker();
    for (let seq = 0; seq < 12; seq += GROUPS) {
      for (let offset = 0; offset < GROUPS; offset += 1) checker.record(message(seq + offset), first(seq + offset));
      await nextTurn();
    }
    expect(checker.summary()).toEqual({
      groups: GROUPS,
      firstDeliveries: 12,
      redeliveries: 0,
      orderViolations: 0,
      overlaps: 0,
      wrongGroup: 0,
    });
  });

  it("counts a first delivery that comes before an earlier-sent message of its group as a violation", async () => {
    const checker = new GroupOrderChecker();
    checker.record(message(3), first(3));
    await nextTurn();
    checker.record(message(0), first(0));
    expect(checker.summary()).toMatchObject({ orderViolations: 1, overlaps: 0 });
  });

  it("counts two messages of a group delivered in one turn (both out at once) as an overlap", () => {
    const checker = new GroupOrderChecker();
    checker.record(message(0), first(0));
    checker.record(message(3), first(3));
    checker.record(message(1), first(1));
    expect(checker.summary()).toMatchObject({ orderViolations: 0, overlaps: 1 });
  });

  it("ignores redeliveries, warm-up and ungrouped messages, and counts a delivery naming another group", async () => {
    const checker = new GroupOrderChecker();
    checker.record(message(3), first(3));
    await nextTurn();
    checker.record(message(0), { group: groupOf(0, GROUPS), attempt: 2 });
    checker.record(payload(-1, 0, "warm-up"), { group: "warm-up", attempt: 1 });
    checker.record(payload(7, 0), { group: undefined, attempt: 1 });
    checker.record(message(6), { group: "g-other", attempt: 1 });
    expect(checker.summary()).toEqual({
      groups: 1,
      firstDeliveries: 2,
      redeliveries: 1,
      orderViolations: 0,
      overlaps: 0,
      wrongGroup: 1,
    });
  });
});

describe("GroupSendOrder", () => {
  it("starts a send only once the previous send of one of its groups is accepted, others at once", async () => {
    const order = new GroupSendOrder();
    const started: string[] = [];
    const accept: Record<string, () => void> = {};
    const send = (name: string) => () =>
      new Promise<void>((resolve) => {
        started.push(name);
        accept[name] = resolve;
      });
    const firstSend = order.send([message(0), message(1)], send("first"));
    const otherGroup = order.send([message(2)], send("other group"));
    const sameGroup = order.send([message(4)], send("same group as first"));
    const ungrouped = order.send([payload(9, 0)], send("ungrouped"));
    await nextTurn();
    expect(started).toEqual(["first", "other group", "ungrouped"]);
    accept.first?.();
    await firstSend;
    await nextTurn();
    expect(started).toEqual(["first", "other group", "ungrouped", "same group as first"]);
    for (const name of ["other group", "same group as first", "ungrouped"]) accept[name]?.();
    await Promise.all([otherGroup, sameGroup, ungrouped]);
  });
});
