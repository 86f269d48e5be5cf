/**
 * The cluster registry's guarantees (engines/cluster-registry.ts), written once and run in-process against
 * every registry, as socket.io-redis-adapter runs one `testSuite(factory)` against every adapter: each
 * registry's test file calls `clusterRegistrySuite` with a factory that starts a registry for a node.
 * What one node sees of itself is here; what takes several nodes (each other's members, a node that stops
 * heartbeating) only Redis can show, in a describe of its own (test/cluster-registry-redis.test.ts).
 */
import { randomBytes } from "node:crypto";
import { MAX_LISTED_MEMBERS, type RoomMember, type RoomMembersResult } from "@mailroom/protocol";
import { describe, expect, it } from "vitest";
import type { ClusterRegistry, LocalNode } from "../../packages/server/src/engines/cluster-registry.js";
import { onCleanup } from "../helpers/cleanup.js";

export interface ClusterRegistryHarness {
  /** Started: the node is registered and heartbeats. */
  readonly registry: ClusterRegistry;
  /** Closes the registry and whatever the factory started for it. */
  cleanup(): Promise<void>;
}

export type ClusterRegistryFactory = (node: LocalNode) => Promise<ClusterRegistryHarness>;

/** A node as the registry sees it: a hex id (as nodes make theirs), a url, a start time and connections. */
export function localNode(connections = 7): LocalNode {
  const id = randomBytes(8).toString("hex");
  return {
    id,
    url: () => `http://127.0.0.1:3000/${id}`,
    startedAt: Date.now(),
    connections: () => connections,
    namespaceSockets: () => ({ "/": connections }),
    health: () => ({ draining: false, eventLoopLagMs: 1.5 }),
  };
}

/** Members in socket order: the registry promises no order. */
export function sortedMembers({ count, members }: RoomMembersResult): RoomMembersResult {
  return { count, members: [...members].sort((first, second) => first.socket.localeCompare(second.socket)) };
}

export function clusterRegistrySuite(name: string, factory: ClusterRegistryFactory): void {
  describe(`cluster registry conformance: ${name}`, () => {
    async function setup(node = localNode()) {
      const harness = await factory(node);
      onCleanup(() => harness.cleanup());
      return { registry: harness.registry, node };
    }

    describe("rooms", () => {
      it("lists a room's members with their users, and counts them", async () => {
        const { registry } = await setup();
        await registry.join({ namespace: "/", room: "lobby", socket: "s1", user: "alice" });
        await registry.join({ namespace: "/", room: "lobby", socket: "s2" });
        await registry.join({ namespace: "/", room: "lobby", socket: "s3", user: "alice" });
        expect(sortedMembers(await registry.members("/", "lobby"))).toEqual({
          count: 3,
          members: [{ socket: "s1", user: "alice" }, { socket: "s2" }, { socket: "s3", user: "alice" }],
        });
      });

      it("lists the rooms with members, the most first, at most as many as asked", async () => {
        const { registry } = await setup();
        for (const socket of ["s1", "s2", "s3"]) await registry.join({ namespace: "/", room: "big", socket });
        await registry.join({ namespace: "/chat", room: "small", socket: "s4" });
        await registry.join({ namespace: "/", room: "gone", socket: "s5" });
        await registry.leave({ namespace: "/", room: "gone", socket: "s5" });
        expect(await registry.rooms(10)).toEqual([
          { namespace: "/", room: "big", members: 3 },
          { namespace: "/chat", room: "small", members: 1 },
        ]);
        expect(await registry.rooms(1)).toEqual([{ namespace: "/", room: "big", members: 3 }]);
      });

      it("answers a room nobody joined with no members", async () => {
        const { registry } = await setup();
        expect(await registry.members("/", "empty")).toEqual({ count: 0, members: [] });
      });

      it("counts a socket once however often it joins", async () => {
        const { registry } = await setup();
        const membership = { namespace: "/", room: "lobby", socket: "s1", user: "alice" };
        await registry.join(membership);
        await registry.join(membership);
        await Promise.all([registry.join(membership), registry.join(membership)]);
        expect(await registry.members("/", "lobby")).toEqual({ count: 1, members: [{ socket: "s1", user: "alice" }] });
      });

      it("removes a member on leave, and a leave of a socket not in the room changes nothing", async () => {
        const { registry } = await setup();
        await registry.join({ namespace: "/", room: "lobby", socket: "s1" });
        await registry.join({ namespace: "/", room: "lobby", socket: "s2" });
        await registry.leave({ namespace: "/", room: "lobby", socket: "s1" });
        await registry.leave({ namespace: "/", room: "lobby", socket: "s1" });
        await registry.leave({ namespace: "/", room: "lobby", socket: "never-joined" });
        await registry.leave({ namespace: "/", room: "never-joined", socket: "s2" });
        expect(await registry.members("/", "lobby")).toEqual({ count: 1, members: [{ socket: "s2" }] });
        await registry.leave({ namespace: "/", room: "lobby", socket: "s2" });
        expect(await registry.members("/", "lobby")).toEqual({ count: 0, members: [] });
      });

      it("keeps rooms apart by name and by namespace", async () => {
        const { registry } = await setup();
        await registry.join({ namespace: "/", room: "lobby", socket: "s1" });
        await registry.join({ namespace: "/orders", room: "lobby", socket: "s2" });
        await registry.join({ namespace: "/", room: "lobby/2", socket: "s3" });
        await registry.join({ namespace: "/", room: "Lobby", socket: "s4" });
        expect(await registry.members("/", "lobby")).toEqual({ count: 1, members: [{ socket: "s1" }] });
        expect(await registry.members("/orders", "lobby")).toEqual({ count: 1, members: [{ socket: "s2" }] });
        expect(await registry.members("/", "lobby/2")).toEqual({ count: 1, members: [{ socket: "s3" }] });
        expect(await registry.members("/", "Lobby")).toEqual({ count: 1, members: [{ socket: "s4" }] });
      });

      it("keeps a socket in its other rooms when it leaves one", async () => {
        const { registry } = await setup();
        for (const room of ["a", "b", "c"]) await registry.join({ namespace: "/", room, socket: "s1", user: "bob" });
        await registry.leave({ namespace: "/", room: "b", socket: "s1" });
        const counts = await Promise.all(
          ["a", "b", "c"].map(async (room) => (await registry.members("/", room)).count),
        );
        expect(counts).toEqual([1, 0, 1]);
      });

      it("takes room names as data, whatever characters they hold", async () => {
        const { registry } = await setup();
        const rooms = ["{tag}", "a:b", "with space", "*", "ünï😀", "%2F", "\\"];
        for (const [index, room] of rooms.entries()) {
          await registry.join({ namespace: "/", room, socket: `s${index}` });
        }
        for (const [index, room] of rooms.entries()) {
          expect(await registry.members("/", room)).toEqual({ count: 1, members: [{ socket: `s${index}` }] });
        }
      });

      it(`counts every member of a big room but lists at most ${MAX_LISTED_MEMBERS}`, async () => {
        const { registry } = await setup();
        const total = MAX_LISTED_MEMBERS + 5;
        await Promise.all(
          Array.from({ length: total }, (_, index) =>
            registry.join({ namespace: "/", room: "stadium", socket: `s${index}`, user: `u${index}` }),
          ),
        );
        const { count, members } = await registry.members("/", "stadium");
        expect(count).toBe(total);
        expect(members).toHaveLength(MAX_LISTED_MEMBERS);
        expect(new Set(members.map((member: RoomMember) => member.socket)).size).toBe(MAX_LISTED_MEMBERS);
        for (const member of members) expect(member.user).toBe(`u${member.socket.slice(1)}`);
      });
    });

    describe("queue consumers", () => {
      it("records how many consumers this node holds for a queue: a new count replaces it, 0 removes it", async () => {
        const { registry } = await setup();
        expect(await registry.queueConsumers("/", "jobs")).toBe(0);
        await registry.setQueueConsumers("/", "jobs", 3);
        expect(await registry.queueConsumers("/", "jobs")).toBe(3);
        await registry.setQueueConsumers("/", "jobs", 5);
        expect(await registry.queueConsumers("/", "jobs")).toBe(5);
        await registry.setQueueConsumers("/", "jobs", 0);
        expect(await registry.queueConsumers("/", "jobs")).toBe(0);
      });

      it("counts the consumers of several queues in the order asked, each namespace apart", async () => {
        const { registry } = await setup();
        await registry.setQueueConsumers("/", "a", 2);
        await registry.setQueueConsumers("/", "b", 4);
        await registry.setQueueConsumers("/orders", "a", 1);
        expect(await registry.queueConsumerCounts("/", ["b", "missing", "a"])).toEqual([4, 0, 2]);
        expect(await registry.queueConsumerCounts("/orders", ["a", "b"])).toEqual([1, 0]);
        expect(await registry.queueConsumerCounts("/", [])).toEqual([]);
      });
    });

    describe("nodes", () => {
      it("lists this node with its url, start time and connections, seen just now", async () => {
        const startedBefore = Date.now();
        const { registry, node } = await setup(localNode(12));
        const nodes = await registry.nodes();
        expect(nodes).toEqual([
          {
            id: node.id,
            url: node.url(),
            startedAt: node.startedAt,
            connections: 12,
            lastSeenAt: expect.any(Number),
            namespaces: { "/": 12 },
            draining: false,
            eventLoopLagMs: 1.5,
          },
        ]);
        expect(nodes[0]!.lastSeenAt).toBeGreaterThanOrEqual(startedBefore);
        expect(nodes[0]!.lastSeenAt).toBeLessThanOrEqual(Date.now());
      });
    });
  });
}
