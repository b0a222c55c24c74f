/**
 * Compatibility: a siderolabs/extensions-style tree (written by us, using every construct the
 * real tree uses) loads unchanged and renders to exactly what bldr renders. The expected values
 * were produced with Go's text/template + sprig, as bldr runs them.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { lintTree, loadTree, PLATFORMS, type Platform, resolveAll } from "../src/index.ts";

const ROOT = fileURLToPath(new URL("./fixtures/ext-like", import.meta.url));
const EXPECTED = JSON.parse(
  readFileSync(new URL("./fixtures/ext-like.expected.json", import.meta.url), "utf8"),
) as Record<Platform, Record<string, { sources: unknown[]; images: string[]; env: Record<string, string> }>>;
const BUILD_ARGS = {
  PKGS: "v1.13.0-60-gf541ca4",
  PKGS_PREFIX: "ghcr.io/siderolabs",
  TOOLS: "v1.13.0-9-ga201d19",
  TOOLS_PREFIX: "ghcr.io/siderolabs",
  TAG: "v1.13.9",
  SOURCE_DATE_EPOCH: "1700000000",
  TEST_STAGE: "",
  GNU_MIRROR_URL: "https://ftpmirror.gnu.org",
};

describe.each(PLATFORMS)("ext-like tree on %s", (platform) => {
  test("loads, resolves and lints with zero errors", async () => {
    const tree = await loadTree({ root: ROOT, platform, buildArgs: BUILD_ARGS });
    const diagnostics = [...tree.diagnostics, ...resolveAll(tree).diagnostics, ...(await lintTree(tree))];
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect([...tree.packages.keys()].sort()).toEqual(Object.keys(EXPECTED[platform]).sort());
  });

  test("renders sources, checksums, image references and env exactly as bldr", async () => {
    const tree = await loadTree({ root: ROOT, platform, buildArgs: BUILD_ARGS });
    for (const [name, want] of Object.entries(EXPECTED[platform])) {
      const p = tree.packages.get(name);
      expect(p, name).toBeDefined();
      const got = {
        sources: p!.pkg.steps.flatMap((s) => s.sources),
        images: p!.pkg.dependencies.flatMap((d) => (d.image === undefined ? [] : [d.image])),
        env: Object.assign({}, ...p!.pkg.steps.map((s) => s.env)),
      };
      expect(got, name).toEqual(want);
    }
  });
});
