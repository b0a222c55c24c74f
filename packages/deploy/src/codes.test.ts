import { readdir, readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { DEPLOY_ERROR_CODES, DEPLOY_WARNING_CODES } from "./codes.ts";

describe("error codes", () => {
  it("docs/error-codes.md lists exactly the codes of the registry", async () => {
    const doc = await readFile(new URL("../../../docs/error-codes.md", import.meta.url), "utf8");
    const start = doc.indexOf("## DEPLOY_");
    const section = doc.slice(start, doc.indexOf("\n## ", start + 1));
    const documented = [...section.matchAll(/^\| `(DEPLOY_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(
      [...Object.keys(DEPLOY_ERROR_CODES), ...Object.keys(DEPLOY_WARNING_CODES)].sort(),
    );
  });

  it("every code the sources emit is in the registry", async () => {
    const dir = new URL("./", import.meta.url);
    const used = new Set<string>();
    for (const f of await readdir(dir)) {
      if (!f.endsWith(".ts") || f.endsWith(".test.ts") || f === "codes.ts") continue;
      const text = await readFile(new URL(f, dir), "utf8");
      for (const m of text.matchAll(/"(DEPLOY_[A-Z_]+)"/g)) used.add(m[1]!);
    }
    const known = new Set([...Object.keys(DEPLOY_ERROR_CODES), ...Object.keys(DEPLOY_WARNING_CODES)]);
    expect([...used].filter((c) => !known.has(c))).toEqual([]);
  });
});
