/**
 * `--cors-origins` (docs/protocol.md §16 and "Mailroom's choices"), header by header, without a browser
 * (test/browser.test.ts shows Chromium obeying them): the setting's check at start; unset, the HTTP API sends
 * no CORS header while Socket.IO answers every origin; a list answers its origins only (preflights with the
 * API's methods and headers, refusals that a page can read), and Socket.IO applies it to handshakes; `*`
 * answers every origin, never with credentials.
 */
import { resolveConfig } from "@mailroom/server";
import { describe, expect, it } from "vitest";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { waitFor } from "./helpers/wait.js";

const PAGE = "http://127.0.0.1:5173";
const STRANGER = "https://elsewhere.example";

/** The response's `access-control-*` and `vary` headers, by lowercase name. */
function corsHeaders(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (/^(access-control-|vary$)/.test(name)) headers[name] = value;
  });
  return headers;
}

function request(node: NodeHandle, path: string, init: RequestInit & { origin?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.origin) headers.set("origin", init.origin);
  return fetch(`${node.url}${path}`, { ...init, headers });
}

function preflight(node: NodeHandle, path: string, origin: string, requestHeaders: string) {
  return request(node, path, {
    method: "OPTIONS",
    origin,
    headers: { "access-control-request-method": "POST", "access-control-request-headers": requestHeaders },
  });
}

/** A Socket.IO polling handshake, as a browser page at `origin` opens it (none: as Node.js clients do). */
function socketIoHandshake(node: NodeHandle, origin?: string) {
  return request(node, "/socket.io/?EIO=4&transport=polling", origin ? { origin } : {});
}

const SEND_PATH = "/v1/namespaces/_/queues/jobs/messages";

describe("the --cors-origins setting", () => {
  it.each([
    ["*", "*"],
    [PAGE, PAGE],
    [" https://app.example.com , http://localhost:5173,capacitor://localhost ", undefined],
    ["http://[::1]:8080,https://xn--bcher-kva.example", undefined],
  ])("accepts %j", (setting, kept) => {
    const config = resolveConfig({ corsOrigins: setting });
    expect(config.corsOrigins).toBe(kept ?? setting);
  });

  it.each([
    ["", /got an empty value: leave it unset/],
    ["*,https://app.example.com", /got \* beside other origins: give \* alone/],
    [
      "https://app.example.com/",
      /"https:\/\/app\.example\.com\/": write it as a browser sends it, https:\/\/app\.example\.com$/,
    ],
    ["HTTPS://App.Example.com", /write it as a browser sends it, https:\/\/app\.example\.com$/],
    ["https://app.example.com:443", /write it as a browser sends it, https:\/\/app\.example\.com$/],
    ["app.example.com", /"app\.example\.com": not an origin/],
    ["https://a.example,,https://b.example", /"": an empty origin between commas/],
    ["http://localhost:99999", /not an origin/],
  ])("refuses %j, saying what to write", (setting, problem) => {
    expect(() => resolveConfig({ corsOrigins: setting })).toThrow(
      /^corsOrigins must be \* or a comma-separated list of origins \(scheme:\/\/host\[:port\]\), got /,
    );
    expect(() => resolveConfig({ corsOrigins: setting })).toThrow(problem);
  });
});

describe("a node without --cors-origins", () => {
  it("sends no CORS header from the HTTP API, and answers no preflight", async () => {
    const node = await startNode();
    const sent = await request(node, SEND_PATH, {
      method: "POST",
      origin: PAGE,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: 1 }),
    });
    expect(sent.status).toBe(201);
    expect(corsHeaders(sent)).toEqual({});
    const answer = await preflight(node, SEND_PATH, PAGE, "content-type");
    expect(answer.status).toBe(404);
    expect(corsHeaders(answer)).toEqual({});
  });

  it("lets a page on any origin open a Socket.IO connection, without credentials", async () => {
    const node = await startNode();
    const handshake = await socketIoHandshake(node, STRANGER);
    expect(handshake.status).toBe(200);
    expect(corsHeaders(handshake)).toMatchObject({ "access-control-allow-origin": "*" });
    expect(handshake.headers.has("access-control-allow-credentials")).toBe(false);
  });
});

describe("a node with a list of origins", () => {
  it("answers a preflight from a listed origin with the API's methods and headers, no credentials, for 10 minutes", async () => {
    const node = await startNode({ args: ["--cors-origins", `${STRANGER},${PAGE}`] });
    const answer = await preflight(
      node,
      SEND_PATH,
      PAGE,
      "authorization,content-type,mailroom-id,mailroom-header-kind",
    );
    expect(answer.status).toBe(204);
    expect(corsHeaders(answer)).toEqual({
      "access-control-allow-origin": PAGE,
      "access-control-allow-methods": "GET, HEAD, POST, DELETE",
      "access-control-allow-headers":
        "Authorization, Content-Type, mailroom-id, mailroom-group, mailroom-delay-ms, mailroom-ttl-ms, mailroom-max-attempts, mailroom-priority, *",
      "access-control-expose-headers": "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset",
      "access-control-max-age": "600",
      vary: "Origin",
    });
  });

  it("names the listed origin on answers, refusals and 429s, and no origin for another page", async () => {
    const node = await startNode({
      args: ["--cors-origins", PAGE, "--jwt-secret", "a-test-secret-of-enough-length-for-hs256"],
      env: { MAILROOM_HTTP_REQUESTS_PER_MINUTE: "2" },
    });
    const refused = await request(node, "/v1/cluster", { origin: PAGE });
    expect(refused.status).toBe(401);
    expect(corsHeaders(refused)).toMatchObject({ "access-control-allow-origin": PAGE, vary: "Origin" });
    const stranger = await request(node, "/v1/cluster", { origin: STRANGER });
    expect(stranger.status).toBe(401);
    expect(stranger.headers.has("access-control-allow-origin")).toBe(false);
    const limited = await request(node, "/v1/cluster", { origin: PAGE });
    expect(limited.status).toBe(429);
    expect(corsHeaders(limited)).toMatchObject({
      "access-control-allow-origin": PAGE,
      "access-control-expose-headers": expect.stringContaining("Retry-After"),
    });
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("names the listed origin on the 503 of a draining node", async () => {
    const node = await startNode({ args: ["--cors-origins", PAGE], env: { MAILROOM_DRAIN_DELAY_MS: "3000" } });
    process.kill(node.pid() as number, "SIGTERM");
    const draining = await waitFor(
      async () => {
        const response = await request(node, "/v1/cluster", { origin: PAGE });
        return response.status === 503 && response;
      },
      { what: "the node to refuse API requests while draining" },
    );
    expect(corsHeaders(draining)).toMatchObject({ "access-control-allow-origin": PAGE });
    expect(draining.headers.get("retry-after")).toBe("1");
  });

  it("applies the list to Socket.IO: listed pages with credentials, other pages refused, Node.js clients let in", async () => {
    const node = await startNode({ args: ["--cors-origins", PAGE] });
    const listed = await socketIoHandshake(node, PAGE);
    expect(listed.status).toBe(200);
    expect(corsHeaders(listed)).toMatchObject({
      "access-control-allow-origin": PAGE,
      "access-control-allow-credentials": "true",
    });
    const stranger = await socketIoHandshake(node, STRANGER);
    expect(stranger.status).toBe(403);
    expect(await stranger.json()).toMatchObject({
      message: `origin ${STRANGER} is not one of the node's CORS origins`,
    });
    expect(stranger.headers.has("access-control-allow-origin")).toBe(false);
    expect((await socketIoHandshake(node)).status).toBe(200);
  });
});

describe("a node with --cors-origins '*'", () => {
  it("lets every origin call the HTTP API and connect with Socket.IO, never with credentials", async () => {
    const node = await startNode({ args: ["--cors-origins", "*"] });
    const answer = await preflight(node, SEND_PATH, STRANGER, "authorization,content-type");
    expect(answer.status).toBe(204);
    expect(corsHeaders(answer)).toMatchObject({ "access-control-allow-origin": "*" });
    const sent = await request(node, SEND_PATH, {
      method: "POST",
      origin: STRANGER,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: 1 }),
    });
    expect(sent.status).toBe(201);
    expect(corsHeaders(sent)).toMatchObject({ "access-control-allow-origin": "*" });
    const handshake = await socketIoHandshake(node, STRANGER);
    expect(handshake.status).toBe(200);
    expect(corsHeaders(handshake)).toMatchObject({ "access-control-allow-origin": "*" });
    for (const response of [answer, sent, handshake]) {
      expect(response.headers.has("access-control-allow-credentials")).toBe(false);
    }
  });
});
