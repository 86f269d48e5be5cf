/**
 * The README's reference tables stay equal to the code they describe: the error-code table to the error
 * catalogue (as Fastify keeps its docs' error table), and the configuration table to `mailroom serve`'s
 * settings and the node's defaults.
 */
import { readFileSync } from "node:fs";
import { ERROR_CATALOGUE } from "@mailroom/protocol";
import { DEFAULTS } from "@mailroom/server";
import { describe, expect, it } from "vitest";
import { SERVE_SETTINGS } from "../packages/cli/src/commands/serve-settings.js";

const README = readFileSync(new URL("../README.md", import.meta.url), "utf8");

/** The rows of the first table under the heading `## <title>`, cells trimmed, header and rule left out. */
function tableUnder(title: string): string[][] {
  const section = README.split(/^## /m).find((part) => part.startsWith(`${title}\n`));
  if (section === undefined) throw new Error(`README has no "## ${title}" section`);
  const firstTable: string[] = [];
  for (const line of section.split("\n")) {
    if (line.startsWith("|")) firstTable.push(line);
    else if (firstTable.length > 0) break;
  }
  return firstTable.slice(2).map((line) =>
    line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim().replace(/^`|`$/g, "")),
  );
}

describe("README", () => {
  it("lists exactly the error catalogue, with each code's HTTP status and meaning", () => {
    const rows = tableUnder("Error codes");
    const expected = Object.entries(ERROR_CATALOGUE).map(([code, entry]) => [
      code,
      String(entry.status),
      entry.meaning,
    ]);
    expect(rows).toEqual(expected);
  });

  it("lists every serve setting with its flag, variable and default", () => {
    const rows = tableUnder("Configuration");
    expect(rows.map((row) => row[0])).toEqual(SERVE_SETTINGS.map((setting) => setting.flag));
    for (const setting of SERVE_SETTINGS) {
      const row = rows.find((cells) => cells[0] === setting.flag);
      expect(row?.[1], setting.flag).toBe(setting.env);
      const fallback = (DEFAULTS as Record<string, unknown>)[setting.key];
      if (fallback !== undefined) expect(row?.[2], `${setting.flag} default`).toBe(String(fallback));
    }
  });
});
