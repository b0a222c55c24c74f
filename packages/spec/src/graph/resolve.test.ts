import { afterEach, describe, expect, it } from "vitest";
import { makeTree, PKGFILE, type TempTree } from "../../test/test-tree.ts";
import { loadTree } from "../loader/load-tree.ts";
import type { LoadedTree, LoadTreeOptions } from "../loader/types.ts";
import { dependencyId, mergeList } from "./merge.ts";
import { resolveAll, resolveGraph, subgraph } from "./resolve.ts";

const trees: TempTree[] = [];
afterEach(async () => {
  await Promise.all(trees.splice(0).map((t) => t.cleanup()));
});

async function load(
  files: Record<string, string>,
  options: Omit<LoadTreeOptions, "root"> = {},
): Promise<LoadedTree> {
  const t = await makeTree({ Pkgfile: PKGFILE, ...files });
  trees.push(t);
  const tree = await loadTree({ root: t.root, ...options });
  expect(tree.diagnostics).toStrictEqual([]);
  return tree;
}

/** A pkg.yaml with the given dependency lines (already YAML list items). */
function pkg(name: string, ...deps: string[]): string {
  const body = deps.length
    ? `dependencies:\n${deps.map((d) => `  - ${d.replace(/\n/g, "\n    ")}`).join("\n")}\n`
    : "";
  return `name: ${name}\nvariant: scratch\n${body}`;
}

describe("resolveGraph", () => {
  it("reports a cycle with bldr's chain at the stage: that closes it", async () => {
    const tree = await load({
      "a/pkg.yaml": pkg("a", "stage: b"),
      "b/pkg.yaml": pkg("b", "stage: c"),
      "c/pkg.yaml": pkg("c", "image: example.invalid/x:v1", "stage: a"),
    });
    const g = resolveGraph(tree, "a");
    expect(g.diagnostics).toStrictEqual([
      expect.objectContaining({
        code: "GRAPH_CYCLE",
        severity: "error",
        message:
          'error resolving dependency "b" of "a": error resolving dependency "c" of "b": ' +
          'error resolving dependency "a" of "c": circular dependency detected [a b c] -> "a"',
        file: "c/pkg.yaml",
        line: 5,
        column: 12,
      }),
    ]);
    const fromB = resolveGraph(tree, "b");
    expect(fromB.diagnostics[0]!.message).toMatch(/circular dependency detected \[b c a\] -> "b"$/);
    expect(fromB.diagnostics[0]!.file).toBe("a/pkg.yaml");
  });

  it("reports a package that depends on itself", async () => {
    const tree = await load({ "pkg.yaml": pkg("self", "stage: self") });
    expect(resolveGraph(tree, "self").diagnostics).toMatchObject([
      {
        code: "GRAPH_CYCLE",
        message: 'error resolving dependency "self" of "self": circular dependency detected [self] -> "self"',
      },
    ]);
  });

  it("reports an unknown stage with the chain that reaches it and a did-you-mean", async () => {
    const tree = await load({
      "t/pkg.yaml": pkg("t", "stage: m"),
      "m/pkg.yaml": pkg("m", "image: example.invalid/x:v1", "stage: libfooo"),
      "l/pkg.yaml": pkg("libfoo"),
    });
    const g = resolveGraph(tree, "t");
    expect(g.diagnostics).toHaveLength(1);
    expect(g.diagnostics[0]).toMatchObject({
      code: "GRAPH_UNKNOWN_STAGE",
      message:
        'error resolving dependency "m" of "t": error resolving dependency "libfooo" of "m": package "libfooo" not defined',
      file: "m/pkg.yaml",
      line: 5,
      column: 12,
    });
    expect(g.diagnostics[0]!.hint).toContain('"libfoo"');
    expect(g.nodes.get("m")!.dependencies[1]!.node).toBeUndefined();
  });

  it("reports an unknown target", async () => {
    const tree = await load({ "pkg.yaml": pkg("app") });
    const g = resolveGraph(tree, "apq");
    expect(g.diagnostics).toMatchObject([
      { code: "GRAPH_TARGET_UNKNOWN", message: 'package "apq" not defined' },
    ]);
    expect(g.diagnostics[0]!.hint).toContain('"app"');
    expect(g.order).toStrictEqual([]);
  });

  it("looks only at what the target reaches; resolveAll finds problems anywhere, once each", async () => {
    const tree = await load({
      "ok/pkg.yaml": pkg("ok", "stage: leaf"),
      "leaf/pkg.yaml": pkg("leaf"),
      "x/pkg.yaml": pkg("x", "stage: y"),
      "y/pkg.yaml": pkg("y", "stage: x"),
      "ghost/pkg.yaml": pkg("ghost", "stage: nowhere"),
    });
    const g = resolveGraph(tree, "ok");
    expect(g.diagnostics).toStrictEqual([]);
    expect([...g.nodes.keys()].sort()).toStrictEqual(["leaf", "ok"]);
    const all = resolveAll(tree);
    expect(all.diagnostics.map((d) => d.code)).toStrictEqual(["GRAPH_UNKNOWN_STAGE", "GRAPH_CYCLE"]);
    expect(all.diagnostics[1]!.message).toBe(
      'error resolving dependency "y" of "x": error resolving dependency "x" of "y": circular dependency detected [x y] -> "x"',
    );
    expect([...all.order].sort()).toStrictEqual(["ghost", "leaf", "ok", "x", "y"]);
  });

  it("orders topologically and deterministically, sharing nodes by name", async () => {
    const files = {
      "top/pkg.yaml": pkg("top", "stage: right", "image: example.invalid/x:v1", "stage: left"),
      "left/pkg.yaml": pkg("left", "stage: base"),
      "right/pkg.yaml": pkg("right", "stage: base"),
      "base/pkg.yaml": pkg("base"),
    };
    const tree = await load(files);
    const g = resolveGraph(tree, "top");
    expect(g.order).toStrictEqual(["base", "right", "left", "top"]);
    const top = g.nodes.get("top")!;
    expect(top.dependencies.map((d) => d.node?.name)).toStrictEqual(["right", undefined, "left"]);
    expect(top.dependencies[0]!.node!.dependencies[0]!.node).toBe(
      top.dependencies[2]!.node!.dependencies[0]!.node,
    );
    const again = resolveGraph(await load(files, { mode: "cli" }), "top");
    expect(again.order).toStrictEqual(g.order);
    expect(resolveAll(tree).order).toStrictEqual(["base", "left", "right", "top"]);

    const sub = subgraph(g, "right");
    expect(sub.order).toStrictEqual(["base", "right"]);
    expect([...sub.nodes.keys()].sort()).toStrictEqual(["base", "right"]);
    expect(subgraph(g, "nope").diagnostics[0]!.code).toBe("GRAPH_TARGET_UNKNOWN");
  });
});

describe("mergeList", () => {
  const files = {
    "app/pkg.yaml": pkg(
      "app",
      "image: example.invalid/tools:v1",
      "stage: lib",
      "stage: lib\nto: /",
      "stage: lib\nfrom: /usr/lib\nto: /rootfs/usr/lib",
      "stage: lib\nfrom: /other\nto: /rootfs/usr/lib",
      "stage: lib\nto: /rootfs/opt",
    ),
    "lib/pkg.yaml": pkg(
      "lib",
      "stage: rt\nruntime: true\nfrom: /rt\nto: /opt/rt",
      "image: example.invalid/rtimg:v1\nruntime: true",
      "stage: build-only",
    ),
    "rt/pkg.yaml": pkg("rt", "stage: rt2\nruntime: true"),
    "rt2/pkg.yaml": pkg("rt2"),
    "bo/pkg.yaml": pkg("build-only"),
  };

  it("inserts runtime deps right after their declarer and dedupes by image-stage-raw to, first wins", async () => {
    const g = resolveGraph(await load(files), "app");
    expect(g.diagnostics).toStrictEqual([]);
    const list = mergeList(g, "app");
    expect(list.map((e) => e.id)).toStrictEqual([
      "example.invalid/tools:v1--",
      "-lib-",
      "-rt-/opt/rt",
      "-rt2-",
      "example.invalid/rtimg:v1--",
      "-lib-/",
      "-lib-/rootfs/usr/lib",
      "-lib-/rootfs/opt",
    ]);
    // Same stage and to, different from: the second is dropped, the first keeps its from.
    expect(list[6]!.dep.from).toBe("/usr/lib");
    // Runtime deps keep from/to as written where they were declared.
    expect(list[2]).toMatchObject({ dep: { stage: "rt", from: "/rt", to: "/opt/rt" }, viaRuntimeOf: "lib" });
    expect(list[2]!.node).toBe(g.nodes.get("rt"));
    expect(list[3]!.viaRuntimeOf).toBe("rt");
    expect(list[1]!.viaRuntimeOf).toBeUndefined();
    expect(list[0]!.node).toBeUndefined();
    // The non-runtime dep of lib never reaches app.
    expect(list.some((e) => e.dep.stage === "build-only")).toBe(false);
  });

  it("treats to: / and an absent to as different, and ignores platform and from in the id", () => {
    expect(dependencyId({ stage: "x", runtime: false })).toBe("-x-");
    expect(dependencyId({ stage: "x", to: "/", runtime: false })).toBe("-x-/");
    expect(dependencyId({ stage: "x", from: "/a", platform: "linux/arm64", runtime: true })).toBe("-x-");
  });

  it("lists a package's own runtime deps recursively and rejects packages outside the graph", async () => {
    const g = resolveGraph(await load(files), "app");
    expect(mergeList(g, "lib").map((e) => e.id)).toStrictEqual([
      "-rt-/opt/rt",
      "-rt2-",
      "example.invalid/rtimg:v1--",
      "-build-only-",
    ]);
    expect(() => mergeList(g, "nope")).toThrow(expect.objectContaining({ code: "GRAPH_TARGET_UNKNOWN" }));
  });
});
