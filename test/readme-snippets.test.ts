/**
 * Every fenced block of README.md and of each package's README.md (what npm shows), run or checked, so
 * that none can rot (issue 19: the SDK's room example printed nothing). Each block is named by the comment
 * before it, `<!-- snippet: NAME -->`, which may add `expect: "text"` (repeatable): text the block's run must
 * print. A block with no such comment, a name used twice in one file, an unknown language or an unknown
 * attribute fails the test; so does a name below that no README has any more.
 *
 * How each language is checked:
 * - `js`, `javascript`, `ts`: run for real with Node (TypeScript type-checked against the packages, then
 *   transpiled), against a node the test starts. A block that ends by itself must exit 0; one that waits
 *   forever (a consumer, a handler) is stopped once its output holds every `expect` text.
 * - `html`: served from a site of its own and opened in Chromium (skipped, saying so, without Chromium);
 *   its console must show every `expect` text (a page must have one), and no page error.
 * - `sh`, `bash`: each command line (a trailing `\` joins the next) is run with bash when a rule of
 *   LINE_RULES allows it, or skipped by a rule that says why; a line no rule names fails the test. A line
 *   ending in `&` runs in the background until the block's `expect` texts have appeared; `mailroom serve`
 *   runs as a node of its own, on a free port, until ready; both are then stopped with SIGTERM and must exit
 *   0 (they run `mailroom` without `npx`, whose npm would not pass the signal on). Every other line must
 *   exit 0.
 * - `json`: parsed.
 * - No language, `mermaid`: not runnable; NOT_RUNNABLE lists each by name with the reason.
 *
 * What a block is given (the README writes for a node at the default address):
 * - the node: `http://127.0.0.1:3000`, `http://localhost:3000`, `localhost:3000` (curl), port 3001 (the
 *   second node of a failover example) and `https://mailroom.example.com` (a page's node) all become the
 *   test's node, a memory node of the block's own; a `js` block written for a page runs in Node, whose
 *   `fetch` is the browser's (CORS, which only browsers enforce, is test/browser.test.ts's); `MAILROOM_URL` names it for the CLI; a block that names a
 *   `redis://` URL gets a node on a Redis of its own instead, and every `redis://` URL becomes that Redis;
 * - `token`, for the JavaScript and pages that use it without declaring it (auth is off: any text passes);
 * - a scratch directory as the working directory, inside the repository's node_modules, as a project that
 *   installed Mailroom (so `npx mailroom` and bare imports find the packages): `/etc/mailroom/` becomes a
 *   folder in it, and a file a curl line sends (`@photo.png`) is made there with a few bytes;
 * - `<receipt>` becomes the first receipt an earlier line of the block printed;
 * - curl gets `--fail-with-body`, so an HTTP error fails the line (the README leaves it out for brevity);
 * - `PORT` (a free port) for `mailroom serve`, and the repository's `node_modules/.bin` first on the PATH.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { chromiumInstalled, launchChromium, openPage, startStaticSite } from "./helpers/browser.js";
import { onCleanup } from "./helpers/cleanup.js";
import { type NodeHandle, startNode } from "./helpers/nodes.js";
import { freePort } from "./helpers/ports.js";
import { freshPrefix, startRedis } from "./helpers/redis.js";
import { waitFor } from "./helpers/wait.js";

const REPOSITORY = fileURLToPath(new URL("..", import.meta.url));
/** The READMEs checked, relative to the repository. */
const READMES = [
  "README.md",
  ...readdirSync(join(REPOSITORY, "packages"))
    .map((name) => `packages/${name}/README.md`)
    .filter((path) => existsSync(join(REPOSITORY, path))),
];
/** Where blocks' files and working directories go (see scratchDirectory). */
const SCRIPTS_ROOT = join(REPOSITORY, "node_modules", ".cache", "readme-snippets");
/** Longest a block's run may take to print what it must (a node, a Redis, a browser or npx included). */
const RUN_TIMEOUT_MS = 20_000;
/** The value of `token` given to blocks that use it: auth is off on the test's nodes. */
const TOKEN = "readme-snippet-token";

/** Blocks that are not commands or code, by name, with why they are not run. */
const NOT_RUNNABLE: Readonly<Record<string, string>> = {
  "package-tree": "a directory tree of the packages, not a command",
  "cluster-diagram": "a Mermaid diagram, drawn by GitHub, not run",
  "server-layers": "a directory tree of the server's layers, not a command",
};

type LineAction = "run" | "serve" | "skip" | "drop";
interface LineRule {
  pattern: RegExp;
  action: LineAction;
  reason: string;
}

/**
 * Every shell line falls under the first rule that matches it: `run` (safe here, against the test's node),
 * `serve` (a node of its own), `skip` (cannot run here, and why), or `drop` (the matched part cannot run and
 * is left out; the rest of the line goes through the rules again). A line no rule matches fails the test.
 */
const LINE_RULES: readonly LineRule[] = [
  {
    pattern: /^npm install && /,
    action: "drop",
    reason: "npm install: the test runs in a checkout that is installed already",
  },
  {
    pattern: /^npm install @mailroom\/[a-z]+$/,
    action: "skip",
    reason:
      "installs the published package: the test runs the checkout's (test/pack-install.test.ts installs the packed ones)",
  },
  {
    pattern: /^npm (test|run \S+)\b/,
    action: "skip",
    reason:
      "the project's own scripts: this test runs inside `npm test`, and they build, rewrite files (format) " +
      "or run for minutes (bench, chaos)",
  },
  { pattern: /\bdocker compose\b/, action: "skip", reason: "needs a Docker engine, and builds and starts a cluster" },
  {
    pattern: /^export MAILROOM_JWT_SECRET=/,
    action: "skip",
    reason: "sets the secret for the compose lines after it, which do not run here",
  },
  {
    pattern: /localhost:8080/,
    action: "skip",
    reason: "talks to the compose cluster's HAProxy on :8080, which only the skipped docker compose line starts",
  },
  {
    pattern: /^npx mailroom bench (?!--help)/,
    action: "skip",
    reason: "runs Mailroom beside its peers for a minute or more; test/bench-smoke.test.ts runs the bench",
  },
  {
    pattern: /^(npx )?mailroom serve\b/,
    action: "serve",
    reason: "starts a node: on a free port, until ready, then SIGTERM",
  },
  { pattern: /^npx mailroom /, action: "run", reason: "the CLI, against the test's node (MAILROOM_URL)" },
  { pattern: /^curl /, action: "run", reason: "the HTTP API of the test's node" },
  {
    pattern: /^\(umask 077 && openssl rand -hex \d+ > \/etc\/mailroom\/[\w-]+\)$/,
    action: "run",
    reason: "writes a random secret into the scratch directory's etc/mailroom",
  },
];

interface Block {
  /** The README it is in, relative to the repository. */
  file: string;
  name: string;
  language: string;
  code: string;
  expects: string[];
  /** Line of the opening fence in README.md, from 1. */
  line: number;
}

type RawBlock = Omit<Block, "name" | "expects"> & { comment: string | undefined };

/** The fenced blocks of README `file`, each with the snippet comment before it (blank lines between allowed). */
function fencedBlocks(file: string): RawBlock[] {
  const lines = readFileSync(join(REPOSITORY, file), "utf8").split("\n");
  const blocks: RawBlock[] = [];
  let comment: string | undefined;
  for (let index = 0; index < lines.length; index++) {
    const text = lines[index] as string;
    const fence = /^```(\S*)\s*$/.exec(text);
    if (fence) {
      const body: string[] = [];
      let end = index + 1;
      while (end < lines.length && !/^```\s*$/.test(lines[end] as string)) body.push(lines[end++] as string);
      blocks.push({ file, language: fence[1] ?? "", code: body.join("\n"), line: index + 1, comment });
      index = end;
      comment = undefined;
    } else if (text.startsWith("<!-- snippet:")) {
      comment = text;
    } else if (text.trim() !== "") {
      comment = undefined;
    }
  }
  return blocks;
}

/** The name and `expect` texts of a snippet comment; throws on anything else. */
function parseSnippetComment(comment: string): { name: string; expects: string[] } {
  const match = /^<!-- snippet: ([a-z0-9-]+)((?:, [a-z]+: "(?:[^"\\]|\\.)*")*) -->$/.exec(comment);
  if (!match) throw new Error(`not a snippet comment: ${comment}`);
  const expects: string[] = [];
  for (const [, key, value] of (match[2] ?? "").matchAll(/([a-z]+): ("(?:[^"\\]|\\.)*")/g)) {
    if (key !== "expect") throw new Error(`unknown snippet attribute ${key} in ${comment}`);
    expects.push(JSON.parse(value as string) as string);
  }
  return { name: match[1] as string, expects };
}

const RAW_BLOCKS = READMES.flatMap(fencedBlocks);
const BLOCKS: Block[] = RAW_BLOCKS.filter((block) => block.comment !== undefined).map((block) => ({
  ...block,
  ...parseSnippetComment(block.comment as string),
}));

/** The test's node for one block: a memory node, or one on a Redis of its own when the block names Redis. */
interface Target {
  node: NodeHandle;
  redisUrl: string | undefined;
}

async function targetFor(block: Block): Promise<Target> {
  if (!block.code.includes("redis://")) return { node: await startNode(), redisUrl: undefined };
  const redis = await startRedis();
  return { node: await startNode({ redisUrl: redis.url, prefix: freshPrefix() }), redisUrl: redis.url };
}

/** The block's code with the README's addresses replaced by the test's (see the header). */
function addressed(code: string, target: Target): string {
  const url = target.node.url;
  const host = url.replace(/^http:\/\//, "");
  let result = code
    .replace(/https:\/\/mailroom\.example\.com/g, url)
    .replace(/http:\/\/(127\.0\.0\.1|localhost):300\d/g, url)
    .replace(/\blocalhost:3000\b/g, host);
  if (target.redisUrl !== undefined) result = result.replace(/redis:\/\/[\w.-]+:\d+/g, target.redisUrl);
  return result;
}

/** Declares `token` for code that uses it without declaring it. */
function withToken(code: string): string {
  if (!/\btoken\b/.test(code) || /\b(const|let|var)\s+token\b/.test(code)) return code;
  return `const token = ${JSON.stringify(TOKEN)};\n${code}`;
}

/**
 * A fresh directory for one block's files, removed after the test. It is inside the repository (under
 * node_modules, which git ignores), as a user's project would be: `npx mailroom` finds the installed CLI
 * from there, and a script's bare imports resolve to the repository's packages.
 */
function scratchDirectory(): string {
  mkdirSync(SCRIPTS_ROOT, { recursive: true });
  const directory = mkdtempSync(join(SCRIPTS_ROOT, "run-"));
  onCleanup(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("MAILROOM_")));
  return {
    ...inherited,
    PATH: `${join(REPOSITORY, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
    ...extra,
  };
}

/** A process of a block, its output gathered; killed (its whole group) after the test. */
interface Run {
  readonly child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Sends `signal` to the process and everything it started. */
  signal(signal: NodeJS.Signals): void;
}

function startProcess(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Run {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  // "exit", not "close": a process it started in the background may hold the pipes open after it ends.
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => resolve(code));
  });
  // The whole group, which may outlive its leader (`bash -c "... &"` exits at once).
  const signal = (name: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, name);
    } catch {
      // The group is gone.
    }
  };
  onCleanup(async () => {
    signal("SIGKILL");
    await exited.catch(() => {});
  });
  return { child, output: () => output, exited, signal };
}

/** Waits until `output()` holds every text, failing early if the run ends before. */
async function waitForTexts(run: Pick<Run, "output" | "exited">, texts: readonly string[], what: string) {
  let ended: number | null | undefined;
  void run.exited.then((code) => {
    ended = code;
  });
  await waitFor(
    () => {
      if (texts.every((text) => run.output().includes(text))) return true;
      if (ended !== undefined) throw new Error(`${what} ended (exit ${ended}) before printing what it must`);
      return false;
    },
    { timeoutMs: RUN_TIMEOUT_MS, what: `${what} to print ${JSON.stringify(texts)}` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${error.cause ?? ""}\noutput:\n${run.output()}`);
  });
}

// JavaScript and TypeScript

/** TypeScript blocks as ES modules, named by their snippet: checked together, as the packages' types say. */
function typeErrors(blocks: readonly Block[]): string[] {
  const directory = scratchDirectory();
  const files = blocks.map((block) => {
    const file = join(directory, `${block.file.replace(/\W/g, "-")}--${block.name}.mts`);
    writeFileSync(file, `${withToken(block.code)}\nexport {};\n`);
    return file;
  });
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
    types: ["node"],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (diagnostic) =>
        `${diagnostic.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`,
    );
}

async function runScript(block: Block): Promise<void> {
  const target = await targetFor(block);
  const source = withToken(addressed(block.code, target));
  const javascript =
    block.language === "ts"
      ? ts.transpileModule(source, {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText
      : source;
  const directory = scratchDirectory();
  const file = join(directory, `${block.name}.mjs`);
  writeFileSync(file, javascript);
  const run = startProcess(process.execPath, [file], { cwd: directory, env: environment() });
  if (block.expects.length > 0) {
    await waitForTexts(run, block.expects, `README block ${block.name}`);
    return;
  }
  expect(await run.exited, run.output()).toBe(0);
}

// Pages

async function runPage(block: Block): Promise<void> {
  const target = await targetFor(block);
  expect(block.expects, `a page must say what it prints: ${block.name}`).not.toEqual([]);
  const html = addressed(block.code, target).replace(
    '<script type="module">',
    `<script type="module">\n  const token = ${JSON.stringify(TOKEN)};`,
  );
  const site = await startStaticSite();
  site.serve("/snippet.html", `<!doctype html>\n<title>${block.name}</title>\n${html}`);
  const browser = await launchChromium();
  onCleanup(() => browser.close());
  const page = await openPage(browser);
  await page.page.goto(`${site.origin}/snippet.html`);
  await waitForTexts(
    { output: page.console, exited: new Promise<number | null>(() => {}) },
    block.expects,
    `README page ${block.name}`,
  );
  expect(page.console()).not.toContain("pageerror");
}

// Shell

/** The block's command lines: continuations joined, comments and blank lines left out. */
function commandLines(code: string): string[] {
  const joined = code.replace(/\\\n\s*/g, "");
  return joined
    .split("\n")
    .map(withoutComment)
    .filter((line) => line !== "");
}

/** The line up to a `#` that starts a comment (outside quotes, after a space). */
function withoutComment(line: string): string {
  let quote: string | undefined;
  for (let index = 0; index < line.length; index++) {
    const character = line[index];
    if (quote !== undefined) {
      if (character === quote) quote = undefined;
    } else if (character === "'" || character === '"') {
      quote = character;
    } else if (character === "#" && (index === 0 || /\s/.test(line[index - 1] as string))) {
      return line.slice(0, index).trim();
    }
  }
  return line.trim();
}

/** What to do with a line, and the line (less what a `drop` rule took out). */
function ruleFor(line: string): { rule: LineRule; line: string } {
  const rule = LINE_RULES.find((candidate) => candidate.pattern.test(line));
  if (rule === undefined) {
    throw new Error(`no rule of LINE_RULES says whether README line \`${line}\` runs here: add one`);
  }
  if (rule.action === "drop") return ruleFor(line.replace(rule.pattern, ""));
  return { rule, line };
}

interface ShellContext {
  target: Target | undefined;
  directory: string;
  output: string[];
  background: Run[];
  servers: Run[];
}

async function runShellBlock(block: Block): Promise<void> {
  const context: ShellContext = {
    target: undefined,
    directory: scratchDirectory(),
    output: [],
    background: [],
    servers: [],
  };
  const skipped: string[] = [];
  for (const original of commandLines(block.code)) {
    const { rule, line } = ruleFor(original);
    if (rule.action === "skip") {
      skipped.push(`${original}\n    (${rule.reason})`);
      continue;
    }
    context.target ??= await targetFor(block);
    if (rule.action === "serve") await serveLine(line, context);
    else await runLine(line, context);
  }
  if (skipped.length > 0) console.info(`README block ${block.name}: lines not run here:\n  ${skipped.join("\n  ")}`);

  const all = { output: () => [...context.output, ...context.background.map((run) => run.output())].join("\n") };
  if (block.expects.length > 0) {
    await waitForTexts(
      { ...all, exited: new Promise<number | null>(() => {}) },
      block.expects,
      `README block ${block.name}`,
    );
  }
  for (const run of [...context.background, ...context.servers]) {
    run.signal("SIGTERM");
    expect(await run.exited, `a background line of ${block.name} stopped by SIGTERM:\n${run.output()}`).toBe(0);
  }
}

/** The line as bash runs it here (see the header). */
function prepared(line: string, context: ShellContext): string {
  let result = addressed(line, context.target as Target).replace(
    /\/etc\/mailroom\//g,
    `${context.directory}/etc/mailroom/`,
  );
  if (result.includes("/etc/mailroom/")) mkdirSync(join(context.directory, "etc", "mailroom"), { recursive: true });
  const receipt = /"receipt":"([^"]+)"/.exec(context.output.join("\n"))?.[1];
  if (result.includes("<receipt>")) {
    if (receipt === undefined) throw new Error(`no earlier line printed a receipt for: ${line}`);
    result = result.replaceAll("<receipt>", receipt);
  }
  if (/^curl /.test(result)) {
    result = result.replace(/^curl /, "curl --fail-with-body ");
    for (const [, file] of result.matchAll(/@([\w.-]+)/g)) {
      writeFileSync(join(context.directory, file as string), randomBytes(64));
    }
  }
  return result;
}

/**
 * A line that runs until it is stopped runs its `mailroom` without `npx`: npm does not pass SIGTERM on
 * to the command it runs (it dies and leaves it running), and the exit code to check is the command's.
 * The program is the same (node_modules/.bin is first on the PATH).
 */
function withoutNpx(command: string): string {
  return command.replace(/^npx mailroom /, "mailroom ");
}

async function runLine(line: string, context: ShellContext): Promise<void> {
  const background = /&$/.test(line);
  const plain = prepared(line.replace(/&$/, "").trim(), context);
  const command = background ? withoutNpx(plain) : plain;
  const env = environment({ MAILROOM_URL: (context.target as Target).node.url });
  const run = startProcess("bash", ["-c", command], { cwd: context.directory, env });
  if (background) {
    context.background.push(run);
    await waitFor(() => run.output() !== "", { timeoutMs: RUN_TIMEOUT_MS, what: `\`${command}\` to start` });
    return;
  }
  const code = await run.exited;
  context.output.push(run.output());
  expect(code, `\`${command}\` exited ${code}:\n${run.output()}`).toBe(0);
}

async function serveLine(line: string, context: ShellContext): Promise<void> {
  const port = await freePort();
  const command = withoutNpx(prepared(line.replace(/&$/, "").trim(), context));
  const run = startProcess("bash", ["-c", command], {
    cwd: context.directory,
    env: environment({ PORT: String(port) }),
  });
  context.servers.push(run);
  let ended: number | null | undefined;
  void run.exited.then((code) => {
    ended = code;
  });
  await waitFor(
    async () => {
      if (ended !== undefined) throw new Error(`\`${command}\` exited ${ended}:\n${run.output()}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
    },
    { timeoutMs: RUN_TIMEOUT_MS, what: `\`${command}\` to be ready on port ${port}` },
  );
}

describe("README snippets", () => {
  it("names every fenced block once with a snippet comment, in a language this test knows", () => {
    const unnamed = RAW_BLOCKS.filter((block) => block.comment === undefined).map(
      (block) => `${block.file}:${block.line}`,
    );
    expect(unnamed, "blocks without a <!-- snippet: NAME --> comment before them").toEqual([]);
    for (const file of READMES) {
      const names = BLOCKS.filter((block) => block.file === file).map((block) => block.name);
      expect(new Set(names).size, `names used twice in ${file}: ${names}`).toBe(names.length);
    }
    const names = BLOCKS.map((block) => block.name);
    for (const block of BLOCKS) {
      const known = ["js", "javascript", "ts", "html", "sh", "bash", "json"].includes(block.language);
      expect(known || block.name in NOT_RUNNABLE, `${block.name} (${block.language || "no language"})`).toBe(true);
    }
    expect(
      Object.keys(NOT_RUNNABLE).filter((name) => !names.includes(name)),
      "NOT_RUNNABLE names gone",
    ).toEqual([]);
  });

  it("type-checks the TypeScript blocks against the packages' types", () => {
    expect(typeErrors(BLOCKS.filter((block) => block.language === "ts"))).toEqual([]);
  });

  for (const block of BLOCKS) {
    const title = `${block.file} › ${block.name} (${block.language || "no language"}, line ${block.line})`;
    const reason = NOT_RUNNABLE[block.name];
    if (reason !== undefined) {
      it.skip(`${title}: not run: ${reason}`, () => {});
    } else if (block.language === "json") {
      it(`${title} is valid JSON`, () => {
        expect(() => JSON.parse(block.code)).not.toThrow();
      });
    } else if (["js", "javascript", "ts"].includes(block.language)) {
      it(`${title} runs`, () => runScript(block));
    } else if (block.language === "html") {
      it.skipIf(!chromiumInstalled())(`${title} runs in Chromium (skipped without /usr/bin/chromium)`, () =>
        runPage(block),
      );
    } else if (["sh", "bash"].includes(block.language)) {
      it(`${title}: each line runs or is skipped by a rule`, () => runShellBlock(block));
    }
  }
});
