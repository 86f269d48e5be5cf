/**
 * The server's layers point one way (README, "Architecture"): `npm run lint` runs dependency-cruiser with
 * .dependency-cruiser.cjs, which refuses an engine that imports a transport, the memory engine importing
 * Redis code, and the like. Here the same check runs on the real tree (clean) and on a copy of it with
 * one import that points up (refused, naming the rule).
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { onCleanup } from "./helpers/cleanup.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEPCRUISE = join(ROOT, "node_modules", ".bin", "depcruise");

function cruise(root: string): { code: number | null; output: string } {
  const result = spawnSync(
    DEPCRUISE,
    ["packages/server/src", "--config", join(ROOT, ".dependency-cruiser.cjs"), "--output-type", "err"],
    { cwd: root, encoding: "utf8" },
  );
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A copy of the server's sources and the TypeScript settings the check resolves imports with. */
function copyOfTheTree(): string {
  const copy = mkdtempSync(join(tmpdir(), "mailroom-layers-"));
  onCleanup(() => rmSync(copy, { recursive: true, force: true }));
  cpSync(join(ROOT, "packages/server/src"), join(copy, "packages/server/src"), { recursive: true });
  cpSync(join(ROOT, "tsconfig.base.json"), join(copy, "tsconfig.base.json"));
  return copy;
}

describe("the server's layers", () => {
  it("are clean in the tree as it is", () => {
    const { code, output } = cruise(ROOT);
    expect(output).toContain("no dependency violations");
    expect(code).toBe(0);
  });

  it("refuse an engine that imports a transport", () => {
    const copy = copyOfTheTree();
    writeFileSync(
      join(copy, "packages/server/src/engines/leaky.ts"),
      'import { httpErrorHandler } from "../transports/http/http-errors.js";\nexport const leak = httpErrorHandler;\n',
    );
    const { code, output } = cruise(copy);
    expect(code).not.toBe(0);
    expect(output).toContain("engines-below-everything");
    expect(output).toContain("engines/leaky.ts");
  });

  it("refuse the memory engine importing Redis code", () => {
    const copy = copyOfTheTree();
    writeFileSync(
      join(copy, "packages/server/src/engines/memory/leaky.ts"),
      'import { RedisKeys } from "../redis/keys.js";\nexport const keys = new RedisKeys("x");\n',
    );
    const { code, output } = cruise(copy);
    expect(code).not.toBe(0);
    expect(output).toContain("memory-engine-not-redis");
  });
});
