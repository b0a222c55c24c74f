/**
 * Opt-in: lint the real siderolabs/extensions tree, which must give no errors on either platform
 * (docs/linting.md, "The real siderolabs/extensions tree"). CI has no network, so this runs only
 * when a checkout is present: TALOS_EXT_UPSTREAM_TREE, or /tmp/siderolabs-extensions.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { resolveAll } from "../graph/resolve.ts";
import { loadTree } from "../loader/index.ts";
import { lintTree } from "./index.ts";

const ROOT = process.env.TALOS_EXT_UPSTREAM_TREE ?? "/tmp/siderolabs-extensions";
const present = existsSync(join(ROOT, "Pkgfile"));

/** The build args the upstream Makefile passes (values as of its pins; only their shape matters here). */
const BUILD_ARGS = {
  SOURCE_DATE_EPOCH: "1559424892",
  TAG: "v1.15.0",
  PKGS: "v1.15.0-alpha.0-7-gb914c26",
  PKGS_PREFIX: "ghcr.io/siderolabs",
  TOOLS: "v1.15.0-alpha.0-2-gd102f15",
  TOOLS_PREFIX: "ghcr.io/siderolabs",
  TEST_STAGE: "",
  GNU_MIRROR_URL: "https://ftp.gnu.org/gnu/",
};

describe.skipIf(!present)(`the upstream tree at ${ROOT}`, () => {
  for (const platform of ["linux/amd64", "linux/arm64"] as const) {
    test(`no errors for ${platform}`, { timeout: 120_000 }, async () => {
      const tree = await loadTree({ root: ROOT, platform, buildArgs: BUILD_ARGS });
      const all = [...tree.diagnostics, ...resolveAll(tree).diagnostics, ...(await lintTree(tree))];
      expect(tree.packages.size).toBeGreaterThan(100);
      expect(all.filter((d) => d.severity === "error")).toEqual([]);
    });
  }
});
