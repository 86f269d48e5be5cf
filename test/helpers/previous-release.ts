/**
 * An earlier release's own code, to run as nodes beside this checkout's (rolling upgrades): the built
 * JavaScript of its packages, packed by scripts/pack-previous-release.sh into test/fixtures/, extracted once
 * into test/.previous-release/<commit>/ (inside the checkout, so its third-party imports resolve to the
 * checkout's node_modules).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** The release before layout 3 (groups and priorities): its Redis layout is 2. */
export const LAYOUT_2_RELEASE = "1fefdf9";
/** The first release with groups (layout 3), before their bookkeeping was batched. */
export const FIRST_GROUPS_RELEASE = "b8c1136";
/** The last release before grouped messages were pushed (its nodes pull them, and read no pushed one). */
export const UNPUSHED_GROUPS_RELEASE = "777615a";

const TEST_DIR = fileURLToPath(new URL("..", import.meta.url));

/** The path of the `mailroom` launcher of `commit`'s release, extracted when first asked for. */
export async function previousReleaseCli(commit: string): Promise<string> {
  const root = `${TEST_DIR}.previous-release/${commit}`;
  const cli = `${root}/node_modules/@mailroom/cli/bin/mailroom.js`;
  if (existsSync(cli)) return cli;
  const staging = `${root}.${process.pid}`;
  await mkdir(staging, { recursive: true });
  await promisify(execFile)("tar", ["-xzf", `${TEST_DIR}fixtures/previous-release/${commit}.tgz`, "-C", staging]);
  await rename(staging, root).catch(async (error: NodeJS.ErrnoException) => {
    // Another run extracted it meanwhile: theirs is as good.
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(cli)) throw error;
  });
  return cli;
}
