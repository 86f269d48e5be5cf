/**
 * The dashboard's page and files (docs/protocol.md §12): `GET /admin` and `/admin/` answer its index.html,
 * `GET /admin/assets/<file>` its scripts, styles and icon. They are the static files that packages/dashboard
 * builds with Vite into the server package's `dashboard/` folder, which the package ships; the node reads
 * them from there, so a node installed from npm serves them with no network and no other origin.
 *
 * - Every answer here, errors included, carries DASHBOARD_CSP: scripts, styles, images and requests from
 *   the node's own origin only, no inline script or style, no framing. The page gets its data from the
 *   API routes (`/v1/dashboard` and the queue routes), which check tokens; these routes need none, so the
 *   page can load and ask for one.
 * - The assets' names carry a hash of their content: cached for a year as immutable. The page itself
 *   names the current assets, so it is revalidated at each load (`no-cache`, by ETag).
 * - Files are read and gzipped once, at the first request. A missing build (the server was compiled
 *   without `npm run build`) is 503 with the fix, logged once, and read again at the next request.
 * - Like `/docs`, the routes are exempt from the rate limit (DASHBOARD_ROUTES) and answered while draining.
 * @example
 * app.register(dashboardRoutes);
 */
import { readdir } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MailroomError } from "@mailroom/protocol";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { httpErrorHandler } from "./http-errors.js";
import { readServedFile, type ServedFile, sendServedFile } from "./static-file.js";

export const DASHBOARD_PATH = "/admin";
const ASSETS_ROUTE = `${DASHBOARD_PATH}/assets/:file`;
/** The routes of this plugin, which the rate limit lets through. */
export const DASHBOARD_ROUTES: readonly string[] = [DASHBOARD_PATH, `${DASHBOARD_PATH}/`, ASSETS_ROUTE];

/** The built dashboard: `dashboard/` at the server package's root, three levels above this file in src/ or dist/. */
const BUILD_FOLDER = fileURLToPath(new URL("../../../dashboard/", import.meta.url));
const INDEX_FILE = "index.html";
const ASSETS_FOLDER = "assets";

/** Only the node's own origin, for everything; nothing inline (the build has no inline script or style). */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/** The page names the current assets: checked at every load (a 304 when unchanged). */
const PAGE_CACHE = "no-cache";
/** Asset names carry a hash of their content: the longest that caches honour. */
const ASSET_CACHE = "public, max-age=31536000, immutable";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".map": "application/json; charset=utf-8",
};

const MISSING_BUILD =
  "the dashboard is not built: its files are missing from the server package's dashboard/ folder; build them with npm run build";

export interface DashboardRouteOptions {
  /** Where the built files are. @default BUILD_FOLDER, the server package's `dashboard/` */
  folder?: string;
}

interface DashboardBuild {
  readonly page: ServedFile;
  /** By file name, as the assets route's `:file` names them. */
  readonly assets: ReadonlyMap<string, ServedFile>;
}

export async function dashboardRoutes(app: FastifyInstance, options: DashboardRouteOptions = {}): Promise<void> {
  app.setErrorHandler(httpErrorHandler);
  const load = buildLoader(options.folder ?? BUILD_FOLDER, app.log);
  // Errors too: a 404 or 503 here is a page of the dashboard's origin like any other.
  app.addHook("onRequest", async (_request, reply) => {
    reply.header("content-security-policy", DASHBOARD_CSP).header("x-content-type-options", "nosniff");
  });

  const servePage = async (request: FastifyRequest, reply: FastifyReply) => {
    const build = await load();
    return sendServedFile(request, reply, build.page, PAGE_CACHE);
  };
  app.get(DASHBOARD_PATH, servePage);
  app.get(`${DASHBOARD_PATH}/`, servePage);
  app.get<{ Params: { file: string } }>(ASSETS_ROUTE, async (request, reply) => {
    const build = await load();
    const file = build.assets.get(request.params.file);
    if (!file) throw new MailroomError("NOT_FOUND", `the dashboard has no file ${request.params.file}`);
    return sendServedFile(request, reply, file, ASSET_CACHE);
  });
}

/** Reads the build at the first call and keeps it; a failed read is logged once and tried again at the next call. */
function buildLoader(folder: string, log: FastifyBaseLogger): () => Promise<DashboardBuild> {
  let loading: Promise<DashboardBuild> | undefined;
  let reported = false;
  return () => {
    loading ??= readBuild(folder).catch((error: unknown) => {
      loading = undefined;
      if (!reported) {
        reported = true;
        log.warn({ err: error, folder }, MISSING_BUILD);
      }
      throw new MailroomError("UNAVAILABLE", MISSING_BUILD);
    });
    return loading;
  };
}

async function readBuild(folder: string): Promise<DashboardBuild> {
  const page = await readServedFile(join(folder, INDEX_FILE), CONTENT_TYPES[".html"] as string);
  const assets = new Map<string, ServedFile>();
  const assetsFolder = join(folder, ASSETS_FOLDER);
  for (const name of await readdir(assetsFolder)) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType !== undefined) assets.set(name, await readServedFile(join(assetsFolder, name), contentType));
  }
  return { page, assets };
}
