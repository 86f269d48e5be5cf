/**
 * Auth over Socket.IO (docs/protocol.md §7): the handshake on every namespace (the default one and dynamic
 * ones), rights per namespace with `*`, admin, `meta.from`, members' users, expiry, and each key kind.
 */
import { generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { startNode } from "./helpers/nodes.js";
import { collect, command, connectSocket, nextEvent } from "./helpers/sockets.js";
import { waitFor } from "./helpers/wait.js";

const SECRET = "a-test-secret-of-enough-length-for-hs256";
const secretKey = new TextEncoder().encode(SECRET);

interface TokenOptions {
  sub?: string;
  rights?: Record<string, string[]>;
  expiresInSeconds?: number;
  key?: Parameters<SignJWT["sign"]>[0];
  alg?: string;
}

function token({ sub = "alice", rights = { "*": ["admin"] }, expiresInSeconds = 60, key, alg }: TokenOptions = {}) {
  return new SignJWT({ mailroom: rights })
    .setProtectedHeader({ alg: alg ?? "HS256" })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
    .sign(key ?? secretKey);
}

async function refusal(url: string, namespace: string, auth: Record<string, unknown>): Promise<string> {
  try {
    await connectSocket(url, namespace, { auth });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("the handshake was accepted");
}

function securedNode() {
  return startNode({ args: ["--jwt-secret", SECRET] });
}

describe("auth over Socket.IO", () => {
  it("refuses a handshake with no token, a bad signature, or an expired token, on every namespace", async () => {
    const node = await securedNode();
    const forged = await token({ key: new TextEncoder().encode("another-secret-another-secret-xx") });
    const expired = await token({ expiresInSeconds: -10 });
    for (const namespace of ["/", "/orders"]) {
      expect(await refusal(node.url, namespace, {}), namespace).toBe("unauthorized");
      expect(await refusal(node.url, namespace, { token: "not.a.jwt" }), namespace).toBe("unauthorized");
      expect(await refusal(node.url, namespace, { token: forged }), namespace).toBe("unauthorized");
      expect(await refusal(node.url, namespace, { token: expired }), namespace).toBe("unauthorized");
    }
  });

  it("refuses a token with no exp", async () => {
    const node = await securedNode();
    const noExp = await new SignJWT({ mailroom: { "*": ["admin"] } })
      .setProtectedHeader({ alg: "HS256" })
      .sign(secretKey);
    expect(await refusal(node.url, "/", { token: noExp })).toBe("unauthorized");
  });

  it("answers forbidden for a valid token with no right in the namespace", async () => {
    const node = await securedNode();
    const ordersOnly = await token({ rights: { "/orders": ["send"] } });
    expect(await refusal(node.url, "/billing", { token: ordersOnly })).toBe("forbidden");
    expect(await refusal(node.url, "/", { token: ordersOnly })).toBe("forbidden");
    const socket = await connectSocket(node.url, "/orders", { auth: { token: ordersOnly } });
    expect(socket.connected).toBe(true);
  });

  it("checks each command's right, with * adding to the namespace's own entry", async () => {
    const node = await securedNode();
    const rights = { "/orders": ["send"], "*": ["join"] };
    const socket = await connectSocket(node.url, "/orders", { auth: { token: await token({ rights }) } });
    expect(await command(socket, "queue:send", { queue: "q", data: 1 })).toMatchObject({ ok: true });
    expect(await command(socket, "room:join", { room: "r" })).toMatchObject({ ok: true });
    expect(await command(socket, "queue:stats", { queue: "q" })).toMatchObject({ ok: true, ready: 1 });
    for (const [event, args] of [
      ["queue:consume", { queue: "q" }],
      ["room:publish", { room: "r", event: "e", data: 1 }],
      ["queue:purge", { queue: "q" }],
      ["queue:redrive", { queue: "q" }],
    ] as const) {
      const reply = await command(socket, event, args);
      expect(reply, event).toEqual({ ok: false, error: { code: "FORBIDDEN", message: expect.any(String) } });
    }
    expect((await command(socket, "queue:stats", { queue: "q" })).ready).toBe(1);
  });

  it("lets admin do everything, including purge and redrive", async () => {
    const node = await securedNode();
    const socket = await connectSocket(node.url, "/ops", {
      auth: { token: await token({ rights: { "/ops": ["admin"] } }) },
    });
    await command(socket, "queue:send", { queue: "q", data: 1 });
    expect(await command(socket, "queue:purge", { queue: "q" })).toEqual({ ok: true, purged: 1 });
    expect(await command(socket, "queue:redrive", { queue: "q" })).toEqual({ ok: true, moved: 0 });
  });

  it("puts the publisher's user in meta.from and the members' users in room:members", async () => {
    const node = await securedNode();
    const rights = { "*": ["join", "publish"] };
    const bob = await connectSocket(node.url, "/", { auth: { token: await token({ sub: "bob", rights }) } });
    const alice = await connectSocket(node.url, "/", { auth: { token: await token({ sub: "alice", rights }) } });
    await command(bob, "room:join", { room: "chat" });
    const arrival = nextEvent(bob, "said");
    const reply = await command(alice, "room:publish", { room: "chat", event: "said", data: "hi" });
    expect(await arrival).toEqual([
      "hi",
      { room: "chat", id: reply.id, ts: expect.any(Number), from: "alice", offset: 1, epoch: expect.any(String) },
    ]);
    expect(await command(alice, "room:members", { room: "chat" })).toEqual({
      ok: true,
      count: 1,
      members: [{ socket: bob.id, user: "bob" }],
    });
  });

  it("disconnects a socket when its token expires", async () => {
    const node = await securedNode();
    const socket = await connectSocket(node.url, "/", { auth: { token: await token({ expiresInSeconds: 2 }) } });
    const reasons = collect(socket, "disconnect");
    await waitFor(() => reasons.length === 1, { timeoutMs: 5000, what: "the expiry disconnect" });
    expect(reasons[0]![0]).toBe("io server disconnect");
  });

  it("verifies RS256 and ES256 tokens with a public key, and refuses one signed by another key", async () => {
    for (const [type, alg, options] of [
      ["rsa", "RS256", { modulusLength: 2048 }],
      ["ec", "ES256", { namedCurve: "P-256" }],
    ] as const) {
      const pair = generateKeyPairSync(type as "rsa", options as { modulusLength: number });
      const other = generateKeyPairSync(type as "rsa", options as { modulusLength: number });
      const pem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
      const node = await startNode({ args: ["--jwt-public-key", pem] });
      const good = await token({ key: pair.privateKey, alg });
      const socket = await connectSocket(node.url, "/", { auth: { token: good } });
      expect(await command(socket, "queue:send", { queue: "q", data: alg })).toMatchObject({ ok: true });
      expect(await refusal(node.url, "/", { token: await token({ key: other.privateKey, alg }) })).toBe("unauthorized");
      expect(await refusal(node.url, "/", { token: await token() })).toBe("unauthorized");
    }
  });
});

describe("listening without auth", () => {
  it("refuses a non-loopback host unless --insecure, naming --insecure", async () => {
    await expect(startNode({ args: ["--host", "0.0.0.0"] })).rejects.toThrow(/--insecure/);
  });
});
