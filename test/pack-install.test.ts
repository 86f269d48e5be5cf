/**
 * The packages as a user installs them: `npm pack` of protocol, server, client and cli, the four tarballs
 * installed together into an empty project, and that project's own `mailroom serve` started on the memory
 * engine and on a Redis of the test's own (so the Lua scripts come from the installed package), each
 * sending and receiving one message through the installed `@mailroom/client`, serving that package's
 * browser build, and serving the dashboard built into the server package. At run time nothing outside
 * the project is used: the processes run in it, from its node_modules, with NODE_PATH unset.
 *
 * npm installs --offline, from its cache: the third-party tarballs are there after `npm ci`, but not always
 * the registry's package documents that resolving their ranges needs (`npm ci` reads the lockfile instead).
 * When the cache lacks one (ENOTCACHED), the install runs again with --prefer-offline, which fetches what is
 * missing and caches it for the next run. Not --prefer-offline from the start: it asks the registry for
 * @mailroom/* each time (its 404 is not cached), and without a network spends minutes retrying.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";
import { freePort } from "./helpers/ports.js";
import { startRedis } from "./helpers/redis.js";
import { waitFor } from "./helpers/wait.js";

const REPOSITORY = fileURLToPath(new URL("..", import.meta.url));
const ROUND_TRIP_SCRIPT = fileURLToPath(new URL("fixtures/installed-round-trip.mjs", import.meta.url));
const PUBLISHED = ["protocol", "server", "client", "cli"] as const;
type Published = (typeof PUBLISHED)[number];
/** What each package's package.json points at: its `exports`, or for the CLI its `bin`. */
const ENTRY_POINTS: Record<Published, string> = {
  protocol: "dist/index.js",
  server: "dist/index.js",
  client: "dist/index.js",
  cli: "bin/mailroom.js",
};
/** Packing builds first (`prepack`), and a cold npm cache sends the install to the registry. */
const SETUP_TIMEOUT_MS = 120_000;
/** A node from the installed package starts in about a second; a slow machine gets more. */
const NODE_START_TIMEOUT_MS = 20_000;
const ROUND_TRIP_TIMEOUT_MS = 30_000;

/** One file of a tarball, as `npm pack --json` lists it. */
interface PackedFile {
  path: string;
}

interface PackedPackage {
  name: string;
  filename: string;
  files: PackedFile[];
}

interface Installed {
  /** The project the tarballs were installed into. */
  project: string;
  packed: PackedPackage[];
}

interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of every process the test starts. The npm running `npm test` exports its own settings
 * (npm_config_*, npm_package_*, its lifecycle) to its scripts; the project's npm must not take them, except
 * where the cache is and which registry to use. NODE_PATH and MAILROOM_* would reach past the tarballs.
 */
function cleanEnvironment(): NodeJS.ProcessEnv {
  const kept = new Set(["npm_config_cache", "npm_config_registry"]);
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => name !== "NODE_PATH" && !name.startsWith("MAILROOM_") && (!/^npm_/i.test(name) || kept.has(name)),
    ),
  );
}

/** Runs `command` to its end in `cwd` and returns what it printed; killed after `timeoutMs`. */
function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: cleanEnvironment(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function runOk(command: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  const result = await run(command, args, cwd, timeoutMs);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${result.code}:\n${result.stderr}\n${result.stdout}`);
  }
  return result.stdout;
}

/** Packs the published packages into `root/tarballs` and installs them together into `root/project`. */
async function packAndInstall(root: string): Promise<Installed> {
  const tarballs = join(root, "tarballs");
  const project = join(root, "project");
  mkdirSync(tarballs);
  mkdirSync(project);
  const workspaces = PUBLISHED.flatMap((name) => ["--workspace", `packages/${name}`]);
  const packOutput = await runOk(
    "npm",
    ["pack", ...workspaces, "--pack-destination", tarballs, "--json"],
    REPOSITORY,
    SETUP_TIMEOUT_MS,
  );
  const packed = JSON.parse(packOutput) as PackedPackage[];
  await installTarballs(
    project,
    packed.map((entry) => join(tarballs, entry.filename)),
  );
  return { project, packed };
}

/** Installs `tarballs` into the empty `project`: from npm's cache alone when it holds everything. */
async function installTarballs(project: string, tarballs: string[]): Promise<void> {
  const install = (cacheMode: "--offline" | "--prefer-offline") => {
    rmSync(join(project, "node_modules"), { recursive: true, force: true });
    rmSync(join(project, "package-lock.json"), { force: true });
    writeFileSync(
      join(project, "package.json"),
      `${JSON.stringify({ name: "mailroom-pack-check", private: true, type: "module" }, null, 2)}\n`,
    );
    return run("npm", ["install", "--no-audit", "--no-fund", cacheMode, ...tarballs], project, SETUP_TIMEOUT_MS);
  };
  let result = await install("--offline");
  if (result.code !== 0 && result.stderr.includes("ENOTCACHED")) result = await install("--prefer-offline");
  if (result.code !== 0) {
    throw new Error(`npm install of the tarballs exited with ${result.code}:\n${result.stderr}\n${result.stdout}`);
  }
}

interface InstalledNode {
  url: string;
  output(): string;
}

/** Starts the project's own `mailroom serve` (node_modules/.bin, as `npx mailroom` finds it) until /readyz. */
async function startInstalledNode(project: string, args: string[] = []): Promise<InstalledNode> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const bin = join(project, "node_modules", ".bin", "mailroom");
  const child: ChildProcess = spawn(bin, ["serve", "--port", String(port), ...args], {
    cwd: project,
    env: cleanEnvironment(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  const exitedEarly = exited.then(() => {
    throw new Error(`the installed mailroom serve exited before it was ready:\n${output}`);
  });
  const ready = waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, {
    timeoutMs: NODE_START_TIMEOUT_MS,
    what: `the installed mailroom serve to answer ${url}/readyz`,
  });
  await Promise.race([ready, exitedEarly]);
  return { url, output: () => output };
}

interface RoundTrip {
  clientModule: string;
  sent: { id: string; duplicate: boolean };
  received: { id: string; headers: Record<string, string>; attempt: number; isBinary: boolean; dataHex: string };
}

/** Runs the round-trip script inside the project: one message sent and received through its client. */
async function roundTrip(project: string, node: InstalledNode, data: Uint8Array): Promise<RoundTrip> {
  const script = join(project, "round-trip.mjs");
  writeFileSync(script, readFileSync(ROUND_TRIP_SCRIPT));
  const queue = `pack-${randomBytes(4).toString("hex")}`;
  const args = [script, node.url, queue, Buffer.from(data).toString("hex")];
  const result = await run(process.execPath, args, project, ROUND_TRIP_TIMEOUT_MS);
  if (result.code !== 0) {
    throw new Error(`round-trip.mjs exited with ${result.code}:\n${result.stderr}\nnode:\n${node.output()}`);
  }
  return JSON.parse(result.stdout) as RoundTrip;
}

/** Every byte value, then UTF-8 text outside ASCII: what a lossy encoding on the way would change. */
function awkwardBytes(): Uint8Array {
  const everyByte = Uint8Array.from({ length: 256 }, (_, value) => value);
  return Buffer.concat([everyByte, Buffer.from("é ✓ 𝄞 \u0000 end", "utf8")]);
}

function expectSameMessage(trip: RoundTrip, data: Uint8Array, project: string): void {
  const installedClient = pathToFileURL(join(project, "node_modules", "@mailroom", "client")).href;
  expect(trip.clientModule.startsWith(`${installedClient}/`), trip.clientModule).toBe(true);
  expect(trip.received).toEqual({
    id: trip.sent.id,
    headers: { origin: "pack-install" },
    attempt: 1,
    isBinary: true,
    dataHex: Buffer.from(data).toString("hex"),
  });
}

function packedEntry(packed: PackedPackage[], name: Published): PackedPackage {
  const entry = packed.find((candidate) => candidate.name === `@mailroom/${name}`);
  if (!entry) throw new Error(`@mailroom/${name} was not packed`);
  return entry;
}

function pathsOf(packed: PackedPackage[], name: Published): string[] {
  return packedEntry(packed, name).files.map((file) => file.path);
}

describe("the published packages, packed and installed together into an empty project", () => {
  // Shared by the tests, so removed after all of them (onCleanup runs after each test).
  let root: string | undefined;
  let installed: Installed;

  beforeAll(async () => {
    // Resolved, since Node reports module paths with symbolic links resolved.
    root = realpathSync(mkdtempSync(join(tmpdir(), "mailroom-pack-")));
    installed = await packAndInstall(root);
  }, SETUP_TIMEOUT_MS);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("packs each with its README and entry point, and no test, tsbuildinfo or compiled file without its source", () => {
    for (const name of PUBLISHED) {
      const paths = pathsOf(installed.packed, name);
      expect(paths, name).toEqual(expect.arrayContaining(["package.json", "README.md", ENTRY_POINTS[name]]));
      expect(
        paths.filter((path) => /\.test\.|\.spec\.|tsbuildinfo|(^|\/)test\//.test(path)),
        name,
      ).toEqual([]);
      // Each compiled file and map comes with the source it was compiled from, so the maps resolve and the
      // output of a source since deleted is not published.
      const sourceless = paths
        .filter((path) => path.startsWith("dist/"))
        .filter((path) => !paths.includes(path.replace(/^dist\//, "src/").replace(/(\.d\.ts|\.js)(\.map)?$/, ".ts")));
      expect(sourceless, `@mailroom/${name}: compiled files without a source (a stale dist/?)`).toEqual([]);
    }
  });

  it("ships every Lua script of the server beside its dist/", () => {
    const luaFolder = join(REPOSITORY, "packages", "server", "lua");
    const scripts = readdirSync(luaFolder, { recursive: true, encoding: "utf8" })
      .filter((path) => path.endsWith(".lua"))
      .map((path) => `lua/${path}`);
    expect(scripts.length).toBeGreaterThan(0);
    expect(pathsOf(installed.packed, "server")).toEqual(expect.arrayContaining(scripts));
  });

  it("ships the SDK's browser build in the client, and the installed node serves it from there", async () => {
    const files = ["browser/mailroom-client.js", "browser/mailroom-client.js.map"];
    expect(pathsOf(installed.packed, "client")).toEqual(expect.arrayContaining(files));
    const node = await startInstalledNode(installed.project);
    const served = await fetch(`${node.url}/mailroom-client.js`);
    expect(served.status).toBe(200);
    const installedBundle = join(installed.project, "node_modules", "@mailroom", "client", files[0] as string);
    expect(await served.text()).toBe(readFileSync(installedBundle, "utf8"));
  });

  it("ships the dashboard's build in the server: its page, only files that the page or another file names, and source maps that carry their sources", () => {
    const paths = pathsOf(installed.packed, "server").filter((path) => path.startsWith("dashboard/"));
    expect(paths).toContain("dashboard/index.html");
    const installedServer = join(installed.project, "node_modules", "@mailroom", "server");
    const text = (path: string) => readFileSync(join(installedServer, path), "utf8");
    const assets = paths.filter((path) => path.startsWith("dashboard/assets/"));
    expect(assets.filter((path) => path.endsWith(".js")).length).toBeGreaterThan(0);
    // The rule for compiled files above, for a bundle whose sources stay in the repository: a file that the
    // page, a script or a stylesheet names belongs to this build (a stale one of an earlier build is named by
    // none), and each source map holds the text of its sources, so it resolves without them.
    const namers = ["dashboard/index.html", ...assets.filter((path) => /\.(js|css)$/.test(path))];
    const unnamed = assets.filter((asset) => {
      const name = asset.slice(asset.lastIndexOf("/") + 1);
      return !namers.some((namer) => namer !== asset && text(namer).includes(name));
    });
    expect(unnamed, "@mailroom/server: dashboard files that nothing names (a stale build?)").toEqual([]);
    for (const map of assets.filter((path) => path.endsWith(".map"))) {
      const { sources, sourcesContent } = JSON.parse(text(map)) as { sources: string[]; sourcesContent?: unknown[] };
      expect(sourcesContent?.length, map).toBe(sources.length);
    }
  });

  it("serves the dashboard from the installed server package at /admin, with its CSP", async () => {
    const node = await startInstalledNode(installed.project);
    const installedDashboard = join(installed.project, "node_modules", "@mailroom", "server", "dashboard");
    const page = await fetch(`${node.url}/admin`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/^default-src 'self';/);
    const html = await page.text();
    expect(html).toBe(readFileSync(join(installedDashboard, "index.html"), "utf8"));
    const files = [...html.matchAll(/(?:src|href)="\/admin\/([^"]+)"/g)].map((match) => match[1] as string);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const served = await fetch(`${node.url}/admin/${file}`);
      expect(served.status, file).toBe(200);
      expect(Buffer.from(await served.arrayBuffer()).equals(readFileSync(join(installedDashboard, file))), file).toBe(
        true,
      );
    }
  });

  it("resolves the packages' dependencies on each other from the tarballs, not from the registry", () => {
    const lockfile = JSON.parse(readFileSync(join(installed.project, "package-lock.json"), "utf8")) as {
      packages: Record<string, { resolved?: string }>;
    };
    const ours = Object.entries(lockfile.packages).filter(([path]) => /node_modules\/@mailroom\//.test(path));
    expect(Object.fromEntries(ours.map(([path, entry]) => [path, entry.resolved]))).toEqual(
      Object.fromEntries(
        PUBLISHED.map((name) => [
          `node_modules/@mailroom/${name}`,
          `file:../tarballs/${packedEntry(installed.packed, name).filename}`,
        ]),
      ),
    );
  });

  it("runs the installed mailroom serve on the memory engine: one message sent and received byte-exact", async () => {
    const node = await startInstalledNode(installed.project);
    const data = awkwardBytes();
    expectSameMessage(await roundTrip(installed.project, node, data), data, installed.project);
  });

  it("runs the installed mailroom serve on Redis with the Lua scripts it ships: one message byte-exact", async () => {
    const redis = await startRedis();
    const node = await startInstalledNode(installed.project, ["--redis", redis.url]);
    const data = awkwardBytes();
    expectSameMessage(await roundTrip(installed.project, node, data), data, installed.project);
  });
});
