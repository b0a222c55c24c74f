/** `lint` reports exactly the copy paths `build` refuses, at the same place (one rule, in spec). */
import { lintTree, loadTree, resolveGraph } from "@talos-ext/spec";
import { afterEach, describe, expect, test } from "vitest";
import { HEX64, HEX128, PKGFILE, type TempDir, writeTree } from "../../test/tree.ts";
import { planBuild } from "./plan.ts";

let tree: TempDir | undefined;
afterEach(() => tree?.cleanup());

async function both(pkg: string) {
  tree = await writeTree({ Pkgfile: PKGFILE, "p/pkg.yaml": pkg });
  const t = await loadTree({ root: tree.root, platform: "linux/amd64" });
  expect(t.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const lint = (await lintTree(t)).filter((d) => d.code === "LINT_PATH_TRAVERSAL");
  let build: unknown;
  try {
    planBuild(t, resolveGraph(t, "p"), { platform: "linux/amd64" });
  } catch (e) {
    build = e;
  }
  return { lint, build: build as { code?: string; location?: { line?: number } } | undefined };
}

const source = (destination: string) =>
  `steps:\n  - sources:\n      - url: https://example.invalid/x.tar.gz\n        destination: ${destination}\n        sha256: ${HEX64}\n        sha512: ${HEX128}\nfinalize:\n  - from: /pkg\n    to: /\n`;

describe("copy paths", () => {
  test.each([
    ["finalize to", "name: p\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /rootfs/../../etc\n", 5],
    ["finalize from", "name: p\nvariant: scratch\nfinalize:\n  - from: /pkg/../..\n    to: /\n", 4],
    [
      "dependency to",
      "name: p\nvariant: scratch\ndependencies:\n  - image: alpine:3.21@sha256:" +
        HEX64 +
        "\n    from: /\n    to: ../x\n",
      6,
    ],
    ["source destination with ..", `name: p\nvariant: scratch\n${source("../x.tar.gz")}`, 6],
    ["absolute source destination", `name: p\nvariant: scratch\n${source("/etc/x.tar.gz")}`, 6],
  ])("%s: lint errors where build refuses", async (_name, pkg, line) => {
    const { lint, build } = await both(pkg);
    expect(lint.map((d) => [d.severity, d.line, d.file])).toEqual([["error", line, "p/pkg.yaml"]]);
    expect(build).toMatchObject({ code: "BUILD_PATH_TRAVERSAL", location: { line } });
  });

  test("paths with dots that do not climb are accepted by both", async () => {
    const { lint, build } = await both(
      `name: p\nvariant: scratch\n${source("x..tar.gz")}  - from: /pkg/.config\n    to: /rootfs/usr/..lib\n`,
    );
    expect(lint).toEqual([]);
    expect(build).toBeUndefined();
  });
});
