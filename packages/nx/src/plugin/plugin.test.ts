import { describe, expect, test } from "vitest";
import { dependenciesOf, publishedName } from "./create-dependencies.ts";
import { rootOf } from "./create-nodes.ts";
import { normalizeOptions } from "./options.ts";
import type { TreePackage } from "./tree-packages.ts";

const pkg = (name: string, over: Partial<TreePackage> = {}): TreePackage => ({
  name,
  root: `ext/${name}`,
  file: `ext/${name}/pkg.yaml`,
  kind: "extension",
  sharedInputs: [],
  stageDependencies: [],
  imageDependencies: [],
  ...over,
});

describe("plugin helpers", () => {
  test("a pkg.yaml belongs to the deepest configured root; others are ignored", () => {
    expect(rootOf("extensions/a/pkg.yaml", ["extensions"])).toBe("extensions");
    expect(rootOf("extensions/more/a/pkg.yaml", ["extensions", "extensions/more"])).toBe("extensions/more");
    expect(rootOf("packages/spec/test/fixtures/x/pkg.yaml", ["extensions"])).toBeUndefined();
    expect(rootOf("extensions-old/a/pkg.yaml", ["extensions"])).toBeUndefined();
  });

  test("published images map back to package names only under the registry", () => {
    expect(publishedName("reg.example/talos/foo:1.0", "reg.example/talos")).toBe("foo");
    expect(publishedName("reg.example/talos/foo@sha256:abc", "reg.example/talos")).toBe("foo");
    expect(publishedName("reg.example/talos/sub/foo:1", "reg.example/talos")).toBeUndefined();
    expect(publishedName("ghcr.io/siderolabs/foo:1", "reg.example/talos")).toBeUndefined();
    expect(publishedName("reg.example/talos/foo:1", undefined)).toBeUndefined();
  });

  test("edges: stages, published images of the tree, never self", () => {
    const edges = dependenciesOf(
      [
        {
          root: "ext",
          packages: [
            pkg("a", {
              stageDependencies: ["base"],
              imageDependencies: ["r.example/t/b:1", "r.example/t/a:1"],
            }),
            pkg("b"),
            pkg("base", { kind: "stage" }),
          ],
          unloaded: [],
        },
      ],
      "r.example/t",
    );
    expect(edges).toEqual([
      { source: "a", target: "b", type: "static", sourceFile: "ext/a/pkg.yaml" },
      { source: "a", target: "base", type: "static", sourceFile: "ext/a/pkg.yaml" },
    ]);
  });

  test("options: defaults and trimmed paths", () => {
    expect(normalizeOptions(undefined)).toEqual({
      roots: ["extensions"],
      cli: "talos-ext",
      cliProject: undefined,
      platforms: [],
      outputDir: "dist/extensions",
      registry: undefined,
      mirrors: [],
    });
    expect(normalizeOptions({ roots: ["./trees/a/"], registry: "r.example/x/" })).toMatchObject({
      roots: ["trees/a"],
      registry: "r.example/x",
    });
  });
});
