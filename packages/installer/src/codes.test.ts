import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { IMAGE_ERROR_CODES } from "@talos-ext/image";
import { SPEC_ERROR_CODES } from "@talos-ext/spec";
import { describe, expect, it } from "vitest";
import { registryProblems } from "../../../tools/error-codes.ts";
import { INSTALLER_ERROR_CODES } from "./codes.ts";

const PREFIXES = ["SCHEMATIC_", "FACTORY_", "INSTALLER_", "EXTSET_", "INSPECT_", "IMAGER_"];

describe("error codes", () => {
  it("docs/error-codes.md lists exactly the codes of this package in its sections", async () => {
    const doc = await readFile(new URL("../../../docs/error-codes.md", import.meta.url), "utf8");
    const documented: string[] = [];
    for (const prefix of PREFIXES) {
      const start = doc.indexOf(`## ${prefix}\n`);
      expect(start, `section ## ${prefix}`).toBeGreaterThan(0);
      const end = doc.indexOf("\n## ", start + 1);
      const section = doc.slice(start, end);
      documented.push(...[...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1] as string));
    }
    expect(documented.sort()).toEqual(Object.keys(INSTALLER_ERROR_CODES).sort());
  });

  it("every code in the source is registered (here, in spec or in image)", () => {
    const src = fileURLToPath(new URL(".", import.meta.url));
    expect(
      registryProblems(src, Object.keys(INSTALLER_ERROR_CODES), [...SPEC_ERROR_CODES, ...IMAGE_ERROR_CODES]),
    ).toEqual({
      unregistered: [],
      undocumented: [],
    });
  });
});
