/**
 * Message groups and priorities through the nodes (docs/protocol.md §11), with stock `socket.io-client`
 * sockets, real HTTP and real node processes on one Redis: two consumers on two nodes get only the head
 * of each group, in send order, and an ack lets the next go; a consumer that disconnects and a node that
 * drains give the group's message back at its head; a priority 9 message overtakes earlier
 * priority 0 ones; HTTP sends take the fields in JSON and as `Mailroom-Group` / `Mailroom-Priority`
 * headers, and receives carry them; stats count the groups; the CLI sends with `--group` and `--priority`.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { startCluster, startNode } from "./helpers/nodes.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { type ClientSocket, command, connectSocket } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

interface Delivery {
  id: string;
  receipt: string;
  data: { group: string; n: number };
  group?: string;
  priority?: number;
}

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const binary = Buffer.isBuffer(body);
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": binary ? "application/octet-stream" : "application/json", ...headers },
    body: binary ? new Uint8Array(body) : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

describe("message groups and priorities across nodes", () => {
  it("gives two consumers on two nodes only the head of each group, in order, one at a time until acked", async () => {
    const redis = await startRedis();
    const [a, b] = await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() });
    const producer = await connectSocket(a!.url);
    const messages = [];
    for (let n = 0; n < 8; n += 1) for (const group of ["g1", "g2", "g3"]) messages.push({ data: { group, n }, group });
    expect(await command(producer, "queue:sendBatch", { queue: "orders", messages })).toMatchObject({ ok: true });
    expect(await command(producer, "queue:stats", { queue: "orders" })).toMatchObject({ ready: 24, groups: 3 });

    const inFlight = new Map<string, string>();
    const seen = new Map<string, number[]>();
    const problems: string[] = [];
    const consumers: ClientSocket[] = [];
    for (const url of [a!.url, b!.url]) {
      const socket = await connectSocket(url);
      socket.on("queue:message", (delivery: Delivery) => {
        const { group } = delivery;
        if (group === undefined) problems.push(`${delivery.id} came without its group`);
        else if (inFlight.has(group)) problems.push(`${delivery.id} while ${inFlight.get(group)} of ${group} was out`);
        else inFlight.set(group, delivery.id);
        seen.set(delivery.data.group, [...(seen.get(delivery.data.group) ?? []), delivery.data.n]);
        // Acked a little later, so the other consumer would have had a chance to take the group's next.
        setTimeout(() => {
          inFlight.delete(delivery.data.group);
          void command(socket, "queue:ack", { queue: "orders", receipt: delivery.receipt });
        }, 10);
      });
      expect(await command(socket, "queue:consume", { queue: "orders", prefetch: 10 })).toMatchObject({ ok: true });
      consumers.push(socket);
    }
    await waitFor(async () => [...seen.values()].flat().length === 24, { what: "every message", timeoutMs: 20_000 });
    expect(problems).toEqual([]);
    for (const group of ["g1", "g2", "g3"]) expect(seen.get(group)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await waitFor(async () => (await command(producer, "queue:stats", { queue: "orders" })).groups === 0, {
      what: "the groups to empty",
    });
  });

  it("gives a group's message back at the head of its group when its consumer disconnects or its node drains", async () => {
    const redis = await startRedis();
    const [a, b] = await startCluster(2, { redisUrl: redis.url, prefix: freshPrefix() });
    const producer = await connectSocket(b!.url);
    const messages = ["first", "second", "third"].map((data) => ({ data, group: "g" }));
    await command(producer, "queue:sendBatch", { queue: "held", messages });

    // A consumer takes the head, then disconnects without acking: the head comes back first.
    const leaving = await connectSocket(a!.url);
    const taken = new Promise<Delivery>((resolve) => leaving.once("queue:message", resolve));
    await command(leaving, "queue:consume", { queue: "held", prefetch: 5 });
    expect((await taken).data).toBe("first");
    leaving.disconnect();

    // A consumer on node A, which then drains (SIGTERM): its lease comes back, still first.
    const draining = await connectSocket(a!.url, "/", { reconnection: false });
    const again = new Promise<Delivery & { attempt: number }>((resolve) => draining.once("queue:message", resolve));
    await command(draining, "queue:consume", { queue: "held", prefetch: 5 });
    expect(await again).toMatchObject({ data: "first", attempt: 2 });
    await a!.stop();

    const order: Array<[unknown, number]> = [];
    const acks: Promise<unknown>[] = [];
    const survivor = await connectSocket(b!.url);
    survivor.on("queue:message", (delivery: Delivery & { attempt: number }) => {
      order.push([delivery.data, delivery.attempt]);
      acks.push(command(survivor, "queue:ack", { queue: "held", receipt: delivery.receipt }));
    });
    await command(survivor, "queue:consume", { queue: "held", prefetch: 5 });
    await waitFor(async () => order.length === 3, { what: "the three messages" });
    // Answered before the socket closes (the node may hold an ack a few ms to share its script).
    expect(await Promise.all(acks)).toEqual(acks.map(() => ({ ok: true, acked: 1, stale: [] })));
    expect(order).toEqual([
      ["first", 3],
      ["second", 1],
      ["third", 1],
    ]);
  });

  it("delivers priority 9 before earlier priority 0 messages, and carries group and priority over HTTP", async () => {
    const node = await startNode();
    const base = "/v1/namespaces/_/queues/jobs";
    for (const n of [1, 2, 3]) expect((await post(node.url, `${base}/messages`, { data: n })).status).toBe(201);
    expect((await post(node.url, `${base}/messages`, { data: "urgent", priority: 9 })).status).toBe(201);
    const binary = await post(node.url, `${base}/messages`, Buffer.from("bytes"), {
      "mailroom-group": "user-7",
      "mailroom-priority": "4",
    });
    expect(binary.status).toBe(201);
    expect((await post(node.url, `${base}/messages`, { data: 0, priority: 10 })).status).toBe(400);
    expect((await post(node.url, `${base}/messages`, { data: 0, group: "no spaces" })).body).toMatchObject({
      error: { code: "INVALID_NAME" },
    });

    const received = await post(node.url, `${base}/receive`, { max: 10 });
    const got = received.body.messages.map((m: { data: unknown; group?: string; priority?: number }) => [
      m.data,
      m.group,
      m.priority,
    ]);
    expect(got).toEqual([
      ["urgent", undefined, 9],
      [{ $binary: Buffer.from("bytes").toString("base64") }, "user-7", 4],
      [1, undefined, undefined],
      [2, undefined, undefined],
      [3, undefined, undefined],
    ]);
    const stats = await (await fetch(`${node.url}${base}`)).json();
    expect(stats).toMatchObject({ inflight: 5, groups: 1 });
  });

  it("sends with the CLI's --group and --priority", async () => {
    const node = await startNode();
    const sent = await runCli(["send", "tasks", '{"n":1}', "--group", "acct-1", "--priority", "3"], {
      env: { MAILROOM_URL: node.url },
    });
    expect(sent.code).toBe(0);
    const socket = await connectSocket(node.url);
    const delivery = new Promise<Delivery>((resolve) => socket.once("queue:message", resolve));
    await command(socket, "queue:consume", { queue: "tasks" });
    expect(await delivery).toMatchObject({ data: { n: 1 }, group: "acct-1", priority: 3 });
  });
});
