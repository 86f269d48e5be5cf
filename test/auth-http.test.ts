/**
 * Auth over HTTP (docs/protocol.md §7): every route's right in its namespace (`_` in the URL is `/` in the
 * claim), 401 for no, bad, expired or foreign tokens, 403 for a missing right, `admin` for everything,
 * `any` right for stats, lists and members, any valid token for `/v1/cluster`, and the open operational
 * routes. Against real node processes started with `--jwt-secret` (and one with `--jwt-public-key`).
 */
import { generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { type NodeHandle, startNode } from "./helpers/nodes.js";

const SECRET = "a-test-secret-of-enough-length-for-hs256";
const secretKey = new TextEncoder().encode(SECRET);

interface TokenOptions {
  rights?: Record<string, string[]> | undefined;
  expiresInSeconds?: number;
  key?: Parameters<SignJWT["sign"]>[0];
  alg?: string;
}

function token({ rights = { "*": ["admin"] }, expiresInSeconds = 60, key, alg }: TokenOptions = {}) {
  return new SignJWT(rights === undefined ? {} : { mailroom: rights })
    .setProtectedHeader({ alg: alg ?? "HS256" })
    .setSubject("alice")
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
    .sign(key ?? secretKey);
}

interface HttpReply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked by the tests
  body: any;
}

/** One request; `bearer` goes in `Authorization: Bearer`, `json` as an application/json body. */
async function http(
  node: NodeHandle,
  method: string,
  path: string,
  { bearer, json, raw }: { bearer?: string; json?: unknown; raw?: string } = {},
): Promise<HttpReply> {
  const headers: Record<string, string> = {};
  if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
  let body: string | undefined = raw;
  if (json !== undefined) body = JSON.stringify(json);
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${node.url}${path}`, { method, headers, body });
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return { status: response.status, body: type.includes("json") && text !== "" ? JSON.parse(text) : text };
}

const queuePath = (queue: string, ns = "_") => `/v1/namespaces/${ns}/queues/${queue}`;
const roomPath = (room: string, ns = "_") => `/v1/namespaces/${ns}/rooms/${room}`;

/** Every route that needs a token, with a body it accepts, and the right it needs. */
function routes(ns: string): Array<{ name: string; method: string; path: string; json?: unknown; right: string }> {
  return [
    { name: "send", method: "POST", path: `${queuePath("q", ns)}/messages`, json: { data: 1 }, right: "send" },
    {
      name: "batch",
      method: "POST",
      path: `${queuePath("q", ns)}/messages/batch`,
      json: { messages: [{ data: 1 }] },
      right: "send",
    },
    { name: "receive", method: "POST", path: `${queuePath("q", ns)}/receive`, json: {}, right: "consume" },
    { name: "ack", method: "POST", path: `${queuePath("q", ns)}/ack`, json: { receipts: ["r"] }, right: "consume" },
    { name: "nack", method: "POST", path: `${queuePath("q", ns)}/nack`, json: { receipt: "r" }, right: "consume" },
    { name: "purge", method: "DELETE", path: `${queuePath("q", ns)}/messages`, right: "admin" },
    { name: "redrive", method: "POST", path: `${queuePath("q", ns)}/redrive`, right: "admin" },
    {
      name: "publish",
      method: "POST",
      path: `${roomPath("r", ns)}/publish`,
      json: { event: "e", data: 1 },
      right: "publish",
    },
    { name: "stats", method: "GET", path: queuePath("q", ns), right: "any" },
    { name: "queue list", method: "GET", path: `/v1/namespaces/${ns}/queues`, right: "any" },
    { name: "members", method: "GET", path: roomPath("r", ns), right: "any" },
    { name: "history", method: "GET", path: `${roomPath("r", ns)}/history`, right: "join|monitor" },
    { name: "peek", method: "GET", path: `${queuePath("q", ns)}/messages?state=ready`, right: "monitor" },
    { name: "cluster", method: "GET", path: "/v1/cluster", right: "token" },
  ];
}

const unauthorized = { status: 401, body: { error: { code: "UNAUTHORIZED", message: expect.any(String) } } };
const forbidden = { status: 403, body: { error: { code: "FORBIDDEN", message: expect.any(String) } } };

function securedNode() {
  return startNode({ args: ["--jwt-secret", SECRET] });
}

describe("auth over HTTP", () => {
  it("answers 401 UNAUTHORIZED on every route with no token, a malformed one, a bad signature or an expired one", async () => {
    const node = await securedNode();
    const forged = await token({ key: new TextEncoder().encode("another-secret-another-secret-xx") });
    const expired = await token({ expiresInSeconds: -10 });
    for (const route of routes("_")) {
      for (const bearer of [undefined, "", "not.a.jwt", forged, expired]) {
        const reply = await http(node, route.method, route.path, { bearer, json: route.json });
        expect(
          reply,
          `${route.name} with ${bearer === forged ? "forged" : bearer === expired ? "expired" : bearer}`,
        ).toMatchObject(unauthorized);
      }
    }
    // A token in another scheme is no bearer token.
    const basic = await fetch(`${node.url}/v1/cluster`, { headers: { authorization: `Basic ${btoa("a:b")}` } });
    expect(basic.status).toBe(401);
  });

  it("refuses a token with no exp", async () => {
    const node = await securedNode();
    const noExp = await new SignJWT({ mailroom: { "*": ["admin"] } })
      .setProtectedHeader({ alg: "HS256" })
      .sign(secretKey);
    expect(await http(node, "GET", "/v1/cluster", { bearer: noExp })).toMatchObject(unauthorized);
  });

  it("takes the Bearer scheme's name in any case, as HTTP's schemes are (RFC 9110)", async () => {
    const node = await securedNode();
    const valid = await token();
    for (const scheme of ["Bearer", "bearer", "BEARER"]) {
      const reply = await fetch(`${node.url}/v1/cluster`, { headers: { authorization: `${scheme} ${valid}` } });
      expect(reply.status, scheme).toBe(200);
    }
    const bearerless = await fetch(`${node.url}/v1/cluster`, { headers: { authorization: valid } });
    expect(bearerless.status).toBe(401);
  });

  it("checks the token before the body: a bad body without a valid token is 401, not 400", async () => {
    const node = await securedNode();
    const path = `${queuePath("q")}/messages`;
    expect(await http(node, "POST", path, { json: { surprise: true } })).toMatchObject(unauthorized);
    expect(await http(node, "POST", path, { raw: "{" })).toMatchObject(unauthorized);
    const consumeOnly = await token({ rights: { "/": ["consume"] } });
    expect(await http(node, "POST", path, { bearer: consumeOnly, json: { surprise: true } })).toMatchObject(forbidden);
  });

  it("answers 403 FORBIDDEN for a token of another namespace, on every route but the cluster", async () => {
    const node = await securedNode();
    const ordersAdmin = await token({ rights: { "/orders": ["admin"] } });
    for (const route of routes("billing")) {
      const reply = await http(node, route.method, route.path, { bearer: ordersAdmin, json: route.json });
      if (route.right === "token") expect(reply.status, route.name).toBe(200);
      else expect(reply, route.name).toMatchObject(forbidden);
    }
    // `/orders` in the claim is not the default namespace either.
    for (const route of routes("_").filter((entry) => entry.right !== "token")) {
      const reply = await http(node, route.method, route.path, { bearer: ordersAdmin, json: route.json });
      expect(reply, route.name).toMatchObject(forbidden);
    }
  });

  it("writes the default namespace _ in URLs and / in the claim", async () => {
    const node = await securedNode();
    const rootSender = await token({ rights: { "/": ["send"] } });
    expect(
      (await http(node, "POST", `${queuePath("q")}/messages`, { bearer: rootSender, json: { data: 1 } })).status,
    ).toBe(201);
    expect(await http(node, "GET", queuePath("q"), { bearer: rootSender })).toMatchObject({
      status: 200,
      body: { ready: 1 },
    });
    // A namespace literally named `_` does not exist: `/_` in a claim grants nothing at `_`.
    const underscore = await token({ rights: { "/_": ["admin"] } });
    expect(await http(node, "GET", queuePath("q"), { bearer: underscore })).toMatchObject(forbidden);
  });

  it("answers 403 for every route a send-only token lacks, and lets it send, batch and read stats", async () => {
    const node = await securedNode();
    const sendOnly = await token({ rights: { "/orders": ["send"] } });
    for (const route of routes("orders")) {
      const reply = await http(node, route.method, route.path, { bearer: sendOnly, json: route.json });
      if (["send", "any", "token"].includes(route.right)) {
        expect(reply.status, route.name).toBeLessThan(300);
      } else {
        expect(reply, route.name).toMatchObject(forbidden);
      }
    }
    // Nothing the refused routes would have done happened: both sends are still ready.
    expect((await http(node, "GET", queuePath("q", "orders"), { bearer: sendOnly })).body).toMatchObject({ ready: 2 });
  });

  it("grants each right its routes only, with * adding to the namespace's own entry", async () => {
    const node = await securedNode();
    for (const right of ["send", "consume", "publish", "join", "monitor"]) {
      const bearer = await token({ rights: { "/orders": [right] } });
      for (const route of routes("orders")) {
        const reply = await http(node, route.method, route.path, { bearer, json: route.json });
        const allowed = route.right.split("|").includes(right) || route.right === "any" || route.right === "token";
        // An allowed nack of an unknown receipt is 404: the right passed, the receipt did not.
        if (allowed) expect([200, 201, 202, 404], `${right} → ${route.name}`).toContain(reply.status);
        else expect(reply, `${right} → ${route.name}`).toMatchObject(forbidden);
      }
    }
    const split = await token({ rights: { "/orders": ["send"], "*": ["consume"] } });
    expect((await http(node, "POST", `${queuePath("q", "orders")}/receive`, { bearer: split, json: {} })).status).toBe(
      200,
    );
    expect((await http(node, "POST", `${queuePath("q", "other")}/receive`, { bearer: split, json: {} })).status).toBe(
      200,
    );
    expect(
      await http(node, "POST", `${queuePath("q", "other")}/messages`, { bearer: split, json: { data: 1 } }),
    ).toMatchObject(forbidden);
  });

  it("lets admin do everything, including purge and redrive", async () => {
    const node = await securedNode();
    const admin = await token({ rights: { "/ops": ["admin"] } });
    for (const route of routes("ops")) {
      const reply = await http(node, route.method, route.path, { bearer: admin, json: route.json });
      expect([200, 201, 202, 404], route.name).toContain(reply.status);
    }
    await http(node, "POST", `${queuePath("jobs", "ops")}/messages`, { bearer: admin, json: { data: 1 } });
    expect(await http(node, "DELETE", `${queuePath("jobs", "ops")}/messages`, { bearer: admin })).toEqual({
      status: 200,
      body: { purged: 1 },
    });
    expect(await http(node, "POST", `${queuePath("jobs", "ops")}/redrive`, { bearer: admin })).toEqual({
      status: 200,
      body: { moved: 0 },
    });
  });

  it("needs any right in the namespace for stats, queue lists and members: 403 with none", async () => {
    const node = await securedNode();
    const joinOnly = await token({ rights: { "/chat": ["join"] } });
    const noRights = await token({ rights: {} });
    const malformedClaim = await token({ rights: { "/chat": "join" as unknown as string[] } });
    for (const path of [queuePath("q", "chat"), "/v1/namespaces/chat/queues", roomPath("r", "chat")]) {
      expect((await http(node, "GET", path, { bearer: joinOnly })).status, path).toBe(200);
      expect(await http(node, "GET", path, { bearer: noRights }), path).toMatchObject(forbidden);
      expect(await http(node, "GET", path, { bearer: malformedClaim }), path).toMatchObject(forbidden);
    }
  });

  it("answers /v1/cluster to any valid token, even one with no rights or no mailroom claim, and 401 without", async () => {
    const node = await securedNode();
    expect(await http(node, "GET", "/v1/cluster")).toMatchObject(unauthorized);
    for (const bearer of [await token({ rights: {} }), await token({ rights: undefined })]) {
      const reply = await http(node, "GET", "/v1/cluster", { bearer });
      expect(reply.status).toBe(200);
      expect(reply.body.nodes).toHaveLength(1);
    }
  });

  it("leaves /healthz, /readyz, /openapi.json and /docs open without a token", async () => {
    const node = await securedNode();
    expect((await http(node, "GET", "/healthz")).status).toBe(200);
    expect((await http(node, "GET", "/readyz")).status).toBe(200);
    const document = await http(node, "GET", "/openapi.json");
    expect(document.status).toBe(200);
    expect(document.body.openapi).toMatch(/^3\.1/);
    const docs = await fetch(`${node.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
    // An unknown route is 404 with or without a token: there is no right to check.
    expect((await http(node, "GET", "/v1/nothing")).status).toBe(404);
  });

  it("leaves /metrics open without a token, for Prometheus", async () => {
    const node = await securedNode();
    const response = await fetch(`${node.url}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^# HELP mailroom_/m);
  });

  it("verifies RS256 tokens with --jwt-public-key and refuses HS256 ones and those of another key pair", async () => {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
    const node = await startNode({ args: ["--jwt-public-key", pem] });
    const rights = { "/": ["send", "consume"] };
    const good = await token({ key: pair.privateKey, alg: "RS256", rights });
    expect((await http(node, "POST", `${queuePath("q")}/messages`, { bearer: good, json: { data: 1 } })).status).toBe(
      201,
    );
    expect(await http(node, "POST", `${queuePath("q")}/receive`, { bearer: good, json: {} })).toMatchObject({
      status: 200,
      body: { messages: [{ data: 1 }] },
    });
    expect(await http(node, "DELETE", `${queuePath("q")}/messages`, { bearer: good })).toMatchObject(forbidden);
    for (const bearer of [
      await token({ key: other.privateKey, alg: "RS256", rights }),
      await token({ key: pair.privateKey, alg: "RS256", rights, expiresInSeconds: -10 }),
      await token({ rights }),
    ]) {
      expect(await http(node, "GET", "/v1/cluster", { bearer })).toMatchObject(unauthorized);
    }
  });
});
