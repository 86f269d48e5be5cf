/**
 * The SDK for browsers, served as Socket.IO serves its own client: the browser build of `@mailroom/client`
 * (one ES module bundled with socket.io-client: packages/client/scripts/build-browser.mjs) and its source map.
 * - `GET /mailroom-client.js` and `/mailroom-client.js.map`: cached 5 minutes, then revalidated by ETag.
 * - `GET /mailroom-client/<version>/mailroom-client.js` (and `.map`): the same files under the SDK's version,
 *   cached for a year as immutable; any other version is 404, so such a URL never changes its content.
 *
 * The files are those of the installed `@mailroom/client` package (its `browser/` folder), read and gzipped
 * once, at the first request: the node serves the SDK it was installed with, and never imports the SDK's code.
 * Like `/docs`, they need no token, are exempt from the rate limit and are answered while draining; and any
 * origin may load them (`Access-Control-Allow-Origin: *`, whatever `--cors-origins` says), since a module
 * script from another origin is fetched with CORS and the files are public. A build missing from the client
 * package (it was compiled without `npm run build`) is 404 with the fix, and logged once.
 * @example
 * app.register(browserClientRoutes);
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { MailroomError } from "@mailroom/protocol";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { httpErrorHandler } from "./http-errors.js";
import { readServedFile, type ServedFile, sendServedFile } from "./static-file.js";

export const BROWSER_CLIENT_FILE = "mailroom-client.js";
const SOURCE_MAP_FILE = `${BROWSER_CLIENT_FILE}.map`;
const VERSIONED_ROUTE = "/mailroom-client/:version/:file";
/** The routes of this plugin, which the rate limit lets through. */
export const BROWSER_CLIENT_ROUTES: readonly string[] = [
  `/${BROWSER_CLIENT_FILE}`,
  `/${SOURCE_MAP_FILE}`,
  VERSIONED_ROUTE,
];

/** The unversioned path may change at any upgrade: browsers check again after 5 minutes (a 304 if unchanged). */
const SHORT_CACHE = "public, max-age=300";
/** A versioned path always holds the same bytes: a year, the longest that caches honour. */
const IMMUTABLE_CACHE = "public, max-age=31536000, immutable";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  [BROWSER_CLIENT_FILE]: "text/javascript; charset=utf-8",
  [SOURCE_MAP_FILE]: "application/json; charset=utf-8",
};

const MISSING_BUILD = "the browser build of @mailroom/client is missing from its package: build it with npm run build";

interface BrowserBuild {
  /** The installed `@mailroom/client`'s version, the one of the versioned path. */
  readonly version: string;
  readonly files: ReadonlyMap<string, ServedFile>;
}

export async function browserClientRoutes(app: FastifyInstance): Promise<void> {
  app.setErrorHandler(httpErrorHandler);
  const load = buildLoader(app.log);
  // `cors: false`: @fastify/cors (when --cors-origins is set) leaves these routes alone; they answer `*` themselves.
  const options = { config: { cors: false as const } };

  for (const file of [BROWSER_CLIENT_FILE, SOURCE_MAP_FILE]) {
    app.get(`/${file}`, options, async (request, reply) => {
      const build = await load();
      return serve(request, reply, servedFile(build, file), SHORT_CACHE);
    });
  }
  app.get<{ Params: { version: string; file: string } }>(VERSIONED_ROUTE, options, async (request, reply) => {
    const build = await load();
    const { version, file } = request.params;
    if (version !== build.version) {
      throw new MailroomError("NOT_FOUND", `this node serves @mailroom/client ${build.version}, not ${version}`);
    }
    return serve(request, reply, servedFile(build, file), IMMUTABLE_CACHE);
  });
}

function servedFile(build: BrowserBuild, name: string): ServedFile {
  const file = build.files.get(name);
  if (!file) throw new MailroomError("NOT_FOUND", `no file ${name} in the browser build of @mailroom/client`);
  return file;
}

function serve(request: FastifyRequest, reply: FastifyReply, file: ServedFile, cacheControl: string) {
  reply.header("access-control-allow-origin", "*").header("x-content-type-options", "nosniff");
  return sendServedFile(request, reply, file, cacheControl);
}

/** Reads the build at the first call and keeps it; a failed read is logged once and tried again at the next call. */
function buildLoader(log: FastifyBaseLogger): () => Promise<BrowserBuild> {
  let loading: Promise<BrowserBuild> | undefined;
  let reported = false;
  return () => {
    loading ??= readBuild().catch((error: unknown) => {
      loading = undefined;
      if (!reported) {
        reported = true;
        log.warn({ err: error }, MISSING_BUILD);
      }
      throw new MailroomError("NOT_FOUND", MISSING_BUILD);
    });
    return loading;
  };
}

async function readBuild(): Promise<BrowserBuild> {
  const manifest = createRequire(import.meta.url).resolve("@mailroom/client/package.json");
  const { version } = JSON.parse(await readFile(manifest, "utf8")) as { version: string };
  const folder = join(dirname(manifest), "browser");
  const files = new Map<string, ServedFile>();
  for (const [name, contentType] of Object.entries(CONTENT_TYPES)) {
    files.set(name, await readServedFile(join(folder, name), contentType));
  }
  return { version, files };
}
