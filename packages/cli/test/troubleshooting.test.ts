/**
 * docs/troubleshooting.md stays honest: every code it names is in some package's registry, every
 * registered code appears in it (in an entry or in the generated index), and the committed index
 * is exactly what scripts/gen-troubleshooting.ts writes from the registries today.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  GUIDE,
  handWritten,
  INDEX_MARKER,
  mentions,
  registeredCodes,
  renderIndex,
  slug,
  unknownMentions,
  withIndex,
} from "../scripts/gen-troubleshooting.ts";

const doc = readFileSync(GUIDE, "utf8");
const registered = registeredCodes();

describe("docs/troubleshooting.md", () => {
  it("names no code that no registry lists", () => {
    expect(unknownMentions(doc)).toEqual([]);
  });

  it("has every registered code, and its index is the generated one (pnpm gen:troubleshooting)", () => {
    expect(doc).toContain(INDEX_MARKER);
    expect(doc).toBe(withIndex(doc));
    const all = mentions(doc, registered);
    expect([...registered.keys()].filter((c) => !all.has(c))).toEqual([]);
  });

  it("has unique section headings, so every index link leads to one entry", () => {
    const headings = [...handWritten(doc).matchAll(/^#{2,4} (.+)$/gm)].map((m) => slug(m[1]!.trim()));
    expect(headings.filter((h, i) => headings.indexOf(h) !== i)).toEqual([]);
  });

  it("covers the codes users meet first in an entry, not only in the index", () => {
    const inEntries = mentions(handWritten(doc), registered);
    const first = [
      "LINT_MANIFEST_NOT_FINALIZED",
      "SCHEMA_UNKNOWN_KEY",
      "BUILD_NO_ENGINE",
      "BUILD_STEP_FAILED",
      "EXT_PATH_NOT_ALLOWED",
      "REGISTRY_AUTH",
      "REGISTRY_TLS",
      "DEPLOY_INSTALLER_MISSING_EXTENSION",
      "DEPLOY_EXTENSIONS_MISMATCH",
      "DEPLOY_UPGRADE_WINDOW",
      "TALOSCTL_NOT_FOUND",
    ];
    expect(first.filter((c) => !inEntries.has(c))).toEqual([]);
  });
});

describe("the checks can fail", () => {
  it("reports a code the registries do not list, wherever it is written", () => {
    const text = "## Builds\n\n`BUILD_NOT_A_CODE` and, in output, error LINT_MADE_UP: x\n";
    expect(unknownMentions(text)).toEqual(["BUILD_NOT_A_CODE", "LINT_MADE_UP"]);
  });

  it("ignores names without a code prefix and the listed environment variables", () => {
    expect(unknownMentions("`TALOS_EXT_CACHE_DIR`, `BUILDKIT_HOST`, `SOURCE_DATE_EPOCH`")).toEqual([]);
  });

  it("sees a stale index: a registry that gained a code changes it", () => {
    const guide = handWritten(doc);
    const more = [{ pkg: "cli", codes: ["CLI_BRAND_NEW"] }];
    expect(renderIndex(guide, more)).toContain("| `CLI_BRAND_NEW` | cli | — |");
    expect(withIndex(doc, more)).not.toBe(doc);
  });

  it("links each code to the sections that name it", () => {
    const guide = "## Pushing\n\n### A registry says no\n\nREGISTRY_AUTH\n";
    const index = renderIndex(guide, [{ pkg: "image", codes: ["REGISTRY_AUTH"] }]);
    expect(index).toContain("| `REGISTRY_AUTH` | image | [A registry says no](#a-registry-says-no) |");
  });
});
