/**
 * The SDK's browser build as a node serves it (README, "From a browser"), without a browser
 * (test/browser.test.ts runs it in Chromium): the installed `@mailroom/client` package's own files, at
 * `/mailroom-client.js` with a short cache and at `/mailroom-client/<version>/` for a year; ETags and gzip;
 * open to every origin and without a token or rate limit; and small, with nothing left to import.
 */
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { startNode } from "./helpers/nodes.js";

const BROWSER_BUILD = new URL("../packages/client/browser/", import.meta.url);
const { version } = JSON.parse(readFileSync(new URL("../packages/client/package.json", import.meta.url), "utf8")) as {
  version: string;
};
/** The bundle gzipped stays under this: the SDK and socket.io-client, without the protocol's schema library. */
const GZIPPED_BUDGET_BYTES = 25 * 1024;

function builtFile(name: string): string {
  return readFileSync(new URL(name, BROWSER_BUILD), "utf8");
}

describe("the browser build of @mailroom/client, served by the node", () => {
  it("serves the client package's bundle at /mailroom-client.js: JavaScript, cached 5 minutes, then a 304 by ETag", async () => {
    const node = await startNode();
    const response = await fetch(`${node.url}/mailroom-client.js`, { headers: { "accept-encoding": "identity" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("public, max-age=300");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.has("content-encoding")).toBe(false);
    expect(await response.text()).toBe(builtFile("mailroom-client.js"));

    const etag = response.headers.get("etag");
    expect(etag).toMatch(/^W\/"[0-9a-f]+"$/);
    const revalidated = await fetch(`${node.url}/mailroom-client.js`, { headers: { "if-none-match": etag as string } });
    expect(revalidated.status).toBe(304);
    expect(await revalidated.text()).toBe("");
  });

  it("gzips it for clients that accept gzip", async () => {
    const node = await startNode();
    const response = await fetch(`${node.url}/mailroom-client.js`, { headers: { "accept-encoding": "gzip, br" } });
    expect(response.headers.get("content-encoding")).toBe("gzip");
    expect(response.headers.get("vary")).toBe("Accept-Encoding");
    // fetch decodes it.
    expect(await response.text()).toBe(builtFile("mailroom-client.js"));
  });

  it("serves its source map beside it, with the sources inside", async () => {
    const node = await startNode();
    expect(builtFile("mailroom-client.js")).toMatch(/\n\/\/# sourceMappingURL=mailroom-client\.js\.map\n?$/);
    const response = await fetch(`${node.url}/mailroom-client.js.map`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const map = (await response.json()) as { sources: string[]; sourcesContent: string[] };
    expect(map.sources).toEqual(expect.arrayContaining([expect.stringMatching(/(^|\/)src\/connect\.ts$/)]));
    expect(map.sourcesContent).toHaveLength(map.sources.length);
  });

  it("serves the same files under the SDK's version for a year, and no other version", async () => {
    const node = await startNode();
    for (const file of ["mailroom-client.js", "mailroom-client.js.map"]) {
      const response = await fetch(`${node.url}/mailroom-client/${version}/${file}`);
      expect(response.status, file).toBe(200);
      expect(response.headers.get("cache-control"), file).toBe("public, max-age=31536000, immutable");
      expect(await response.text(), file).toBe(builtFile(file));
    }
    const other = await fetch(`${node.url}/mailroom-client/0.0.0-other/mailroom-client.js`);
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({
      error: { code: "NOT_FOUND", message: `this node serves @mailroom/client ${version}, not 0.0.0-other` },
    });
    expect((await fetch(`${node.url}/mailroom-client/${version}/index.js`)).status).toBe(404);
  });

  it("is open to every page, with auth on, under a rate limit and a CORS list that leave them out", async () => {
    const node = await startNode({
      args: ["--jwt-secret", "a-test-secret-of-enough-length-for-hs256", "--cors-origins", "https://app.example.com"],
      env: { MAILROOM_HTTP_REQUESTS_PER_MINUTE: "1" },
    });
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await fetch(`${node.url}/mailroom-client.js`, {
        headers: { origin: "http://127.0.0.1:5173" },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(response.headers.has("access-control-allow-credentials")).toBe(false);
    }
  });

  it("is one small ES module with nothing left to import", () => {
    const bundle = builtFile("mailroom-client.js");
    expect(bundle.startsWith(`/*! @mailroom/client ${version}, browser build`)).toBe(true);
    expect(bundle).toMatch(/export\{[^}]*\bconnect\b[^}]*\};?\n/);
    // No static or dynamic import of another module: a page needs no import map.
    expect(bundle).not.toMatch(/(^|[;}\s])import\s*[{*"\w(]/);
    expect(gzipSync(bundle).length).toBeLessThan(GZIPPED_BUDGET_BYTES);
  });
});
