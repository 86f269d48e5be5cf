/**
 * A real browser for tests: Debian's Chromium (`/usr/bin/chromium`, which .ci/run installs) driven by
 * playwright-core, which downloads no browser of its own; and a static site that serves the tests' pages from
 * an origin of its own (a port of 127.0.0.1 that no node has), so that every call from a page to a node is
 * cross-origin, as from a web application to its broker. Each test opens its own browser context (its own
 * cookies and caches), closed after the test; the site stops after the test too.
 */
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium, type Page } from "playwright-core";
import { onCleanup } from "./cleanup.js";

export const CHROMIUM = "/usr/bin/chromium";

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM);
}

/** Headless Chromium; the caller closes it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM });
}

export interface BrowserPage {
  readonly page: Page;
  /** Every console message and uncaught error of the page so far, one per line (CORS failures are among them). */
  console(): string;
}

/** A page in a fresh context of `browser`, closed after the test. */
export async function openPage(browser: Browser): Promise<BrowserPage> {
  const context = await browser.newContext();
  onCleanup(() => context.close());
  const page = await context.newPage();
  const lines: string[] = [];
  page.on("console", (message) => lines.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => lines.push(`pageerror: ${error.message}`));
  return { page, console: () => lines.join("\n") };
}

export interface StaticSite {
  /** `http://127.0.0.1:<port>`: what a page of the site sends as `Origin`. */
  readonly origin: string;
  /** Serves `html` at `path` from now on. */
  serve(path: string, html: string): void;
}

/** A site on a free port of 127.0.0.1, serving an empty page at `/` and whatever `serve` adds; stopped after the test. */
export async function startStaticSite(): Promise<StaticSite> {
  const pages = new Map<string, string>([["/", "<!doctype html><title>blank</title>"]]);
  const server = createServer((request, response) => {
    const html = pages.get(new URL(request.url ?? "/", "http://site").pathname);
    response.writeHead(html === undefined ? 404 : 200, { "content-type": "text/html; charset=utf-8" });
    response.end(html ?? "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    serve: (path, html) => {
      pages.set(path, html);
    },
  };
}
