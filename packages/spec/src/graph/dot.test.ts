import { afterEach, describe, expect, it } from "vitest";
import { makeTree, PKGFILE, type TempTree } from "../../test/test-tree.ts";
import { loadTree } from "../loader/load-tree.ts";
import type { LoadedTree } from "../loader/types.ts";
import { goQuote, toDot } from "./dot.ts";
import { toDump } from "./dump.ts";

const trees: TempTree[] = [];
afterEach(async () => {
  await Promise.all(trees.splice(0).map((t) => t.cleanup()));
});

async function load(files: Record<string, string>): Promise<LoadedTree> {
  const t = await makeTree({ Pkgfile: PKGFILE, ...files });
  trees.push(t);
  const tree = await loadTree({ root: t.root });
  expect(tree.diagnostics).toStrictEqual([]);
  return tree;
}

const DIGEST = "0".repeat(64);

const TREE = {
  "app/pkg.yaml": [
    "name: app",
    "variant: alpine",
    "install:",
    "  - make",
    "dependencies:",
    `  - image: example.invalid/toolchain:v1@sha256:${DIGEST}`,
    "  - stage: libfoo",
    "  - stage: libfoo",
    "    from: /usr/lib",
    "    to: /rootfs/usr/lib",
    "",
  ].join("\n"),
  "app/manifest.yaml.tmpl": "arch: {{ .ARCH }}\n",
  "libfoo/pkg.yaml": [
    "name: libfoo",
    "variant: scratch",
    "dependencies:",
    "  - image: example.invalid/toolchain:v1",
    "  - stage: zlib",
    "    runtime: true",
    "",
  ].join("\n"),
  "zlib/pkg.yaml": "name: zlib\nvariant: scratch\n",
  "grype/vars.yaml": "GRAPH_IGNORE: true\n",
  "grype/pkg.yaml": "name: grype\nvariant: scratch\ndependencies:\n  - stage: zlib\n",
};

// emicklei/dot: "digraph  {", TAB indent, an empty indented line for the (absent) graph
// attributes and one before "}", nodes sorted by id, edges grouped by source id in creation order.
const EXPECTED = [
  "digraph  {",
  "\t",
  '\tn5[fillcolor="aquamarine",label="Alpine: make",shape="box",style="filled"];',
  '\tn4[fillcolor="aquamarine",label="alpine",shape="box",style="filled"];',
  '\tn1[label="app"];',
  '\tn2[fillcolor="lemonchiffon",label="example.invalid/toolchain:v1",shape="box",style="filled"];',
  '\tn3[label="libfoo"];',
  '\tn6[label="zlib"];',
  "\tn5->n1;",
  "\tn4->n1;",
  "\tn2->n1;",
  "\tn2->n3;",
  "\tn3->n1;",
  "\tn3->n1;",
  '\tn6->n3[color="forestgreen",style="bold"];',
  "\t",
  "}",
  "",
].join("\n");

describe("toDot", () => {
  it("prints bldr graph's DOT byte for byte, with and without a target", async () => {
    const tree = await load(TREE);
    expect(toDot(tree, { target: "app" })).toBe(EXPECTED);
    expect(toDot(tree)).toBe(EXPECTED);
  });

  it("matches the shape of the reference sketch (§8)", async () => {
    const tree = await load({
      "app/pkg.yaml":
        "name: app\nvariant: scratch\ndependencies:\n  - image: example.invalid/toolchain:v1\n  - stage: libfoo\n",
      "libfoo/pkg.yaml": "name: libfoo\nvariant: scratch\n",
    });
    expect(toDot(tree, { target: "app" })).toBe(
      'digraph  {\n\t\n\tn1[label="app"];\n\tn2[fillcolor="lemonchiffon",label="example.invalid/toolchain:v1",shape="box",style="filled"];\n\tn3[label="libfoo"];\n\tn2->n1;\n\tn3->n1;\n\t\n}\n',
    );
  });

  it("drops packages whose variables say GRAPH_IGNORE: true, and only those", async () => {
    const tree = await load(TREE);
    expect(toDot(tree)).not.toContain("grype");
    expect(() => toDot(tree, { target: "grype" })).toThrow(
      expect.objectContaining({ code: "GRAPH_TARGET_UNKNOWN" }),
    );
    const shown = await load({ ...TREE, "grype/vars.yaml": "GRAPH_IGNORE: yes\n" });
    expect(toDot(shown)).toContain('label="grype"');
  });

  it("numbers nodes in the target's depth-first order", async () => {
    const tree = await load(TREE);
    const dot = toDot(tree, { target: "libfoo" });
    expect(dot).toBe(
      'digraph  {\n\t\n\tn2[fillcolor="lemonchiffon",label="example.invalid/toolchain:v1",shape="box",style="filled"];\n\tn1[label="libfoo"];\n\tn3[label="zlib"];\n\tn2->n1;\n\tn3->n1[color="forestgreen",style="bold"];\n\t\n}\n',
    );
  });

  it("throws the first resolution problem for a broken target graph", async () => {
    const tree = await load({ "pkg.yaml": "name: a\nvariant: scratch\ndependencies:\n  - stage: missing\n" });
    expect(() => toDot(tree, { target: "a" })).toThrow(
      expect.objectContaining({ code: "GRAPH_UNKNOWN_STAGE" }),
    );
    // Without a target nothing is resolved, as in bldr: the dangling stage is just a node.
    expect(toDot(tree)).toContain('[label="missing"]');
  });
});

describe("goQuote", () => {
  it("quotes like Go's %q", () => {
    expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goQuote("line\nnext\ttab")).toBe('"line\\nnext\\ttab"');
    expect(goQuote("\x01\x7f")).toBe('"\\x01\\x7f"');
    expect(goQuote("soft\u00adhyphen\u2028")).toBe('"soft\\u00adhyphen\\u2028"');
    expect(goQuote("é 😀")).toBe('"é 😀"');
    expect(goQuote("\u{e0001}")).toBe('"\\U000e0001"');
  });
});

describe("toDump", () => {
  it("lists packages sorted by name with decoded fields, sorted variables and templated files", async () => {
    const tree = await load(TREE);
    const dump = toDump(tree);
    expect(dump.packages.map((p) => p.name)).toStrictEqual(["app", "grype", "libfoo", "zlib"]);
    const app = dump.packages[0]!;
    expect(app).toMatchObject({ name: "app", dir: "app", file: "app/pkg.yaml" });
    expect(app.pkg.variant).toBe("alpine");
    expect(app.templatedFiles).toStrictEqual([{ path: "manifest.yaml", content: "arch: x86_64\n" }]);
    const keys = Object.keys(app.context);
    expect(keys).toStrictEqual([...keys].sort());
    expect(app.dependsOn).toBeUndefined();
    expect(JSON.parse(JSON.stringify(dump))).toStrictEqual(dump);
  });

  it("with a target, holds only its graph and each package's resolved dependencies", async () => {
    const tree = await load(TREE);
    const dump = toDump(tree, { target: "app" });
    expect(dump.target).toBe("app");
    expect(dump.packages.map((p) => [p.name, p.dependsOn])).toStrictEqual([
      ["app", ["libfoo"]],
      ["libfoo", ["zlib"]],
      ["zlib", []],
    ]);
    expect(() => toDump(tree, { target: "nope" })).toThrow(
      expect.objectContaining({ code: "GRAPH_TARGET_UNKNOWN" }),
    );
  });
});
