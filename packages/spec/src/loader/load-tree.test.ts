import { afterEach, describe, expect, it } from "vitest";
import { makeTree, PKGFILE, pkgYaml, type TempTree } from "../../test/test-tree.ts";
import type { Diagnostic } from "../errors.ts";
import { loadTree } from "./load-tree.ts";
import type { LoadedTree, LoadTreeOptions } from "./types.ts";

const trees: TempTree[] = [];
afterEach(async () => {
  await Promise.all(trees.splice(0).map((t) => t.cleanup()));
});

async function load(
  files: Record<string, string>,
  options: Omit<LoadTreeOptions, "root"> = {},
  links: Record<string, string> = {},
): Promise<LoadedTree> {
  const t = await makeTree(files, links);
  trees.push(t);
  return loadTree({ root: t.root, ...options });
}

const codes = (ds: Diagnostic[]) => ds.map((d) => d.code);
const errors = (tree: LoadedTree) => tree.diagnostics.filter((d) => d.severity === "error");
const ctx = (tree: LoadedTree, name: string) => {
  const p = tree.packages.get(name);
  if (!p) throw new Error(`package ${name} not loaded: ${JSON.stringify(tree.diagnostics)}`);
  return p.context;
};

describe("loadTree: variables", () => {
  const layered = {
    Pkgfile: `${PKGFILE}vars:\n  L_PKGFILE: pkgfile\n  L_ROOT: pkgfile\n  L_MID: pkgfile\n  L_OWN: pkgfile\n  BUILD_ARG_TAG: pkgfile\n  SYSROOT: /test\n  RAW: "{{ .ARCH }}"\n`,
    "vars.yaml": "L_ROOT: root\nL_MID: root\nL_OWN: root\n",
    "group/vars.yaml": "L_MID: group\nL_OWN: group\n",
    "group/app/vars.yaml": "L_OWN: own\n",
    "group/app/pkg.yaml": pkgYaml(
      "app",
      'shell: "{{ .L_PKGFILE }}/{{ .L_ROOT }}/{{ .L_MID }}/{{ .L_OWN }}"\n',
    ),
    "other/pkg.yaml": pkgYaml("other"),
  };

  it("layers built-ins < BUILD_ARG_* < Pkgfile < vars.yaml root → package dir", async () => {
    const tree = await load(layered, { buildArgs: { TAG: "arg", ONLY_ARG: "x" } });
    expect(errors(tree)).toStrictEqual([]);
    const app = ctx(tree, "app");
    expect(app).toMatchObject({
      L_PKGFILE: "pkgfile",
      L_ROOT: "root",
      L_MID: "group",
      L_OWN: "own",
      BUILD_ARG_TAG: "pkgfile",
      BUILD_ARG_ONLY_ARG: "x",
      SYSROOT: "/test",
      ARCH: "x86_64",
    });
    expect(tree.packages.get("app")!.pkg.shell).toBe("pkgfile/root/group/own");
  });

  it("does not leak a directory's vars.yaml into sibling directories", async () => {
    const tree = await load(layered);
    const other = ctx(tree, "other");
    expect(other.L_MID).toBe("root");
    expect(other.L_OWN).toBe("root");
  });

  it("never templates the Pkgfile: its vars stay literal", async () => {
    const tree = await load(layered);
    expect(ctx(tree, "app").RAW).toBe("{{ .ARCH }}");
  });

  it("renders each vars.yaml with its ancestors' variables only, never its own keys", async () => {
    const tree = await load({
      Pkgfile: `${PKGFILE}vars:\n  UP: pkgfile\n`,
      "vars.yaml": 'SELF: root-self\nSEE_SELF: "{{ .SELF }}"\nSEE_UP: "{{ .UP }}"\n',
      "a/vars.yaml": 'SELF: a-self\nSEE_SELF: "{{ .SELF }}"\n',
      "a/pkg.yaml": pkgYaml("a"),
      "pkg.yaml": pkgYaml("root"),
    });
    expect(errors(tree)).toStrictEqual([]);
    const root = ctx(tree, "root");
    expect(root.SEE_SELF).toBe("<no value>");
    expect(root.SEE_UP).toBe("pkgfile");
    // a/vars.yaml sees the root's SELF, not its own.
    expect(ctx(tree, "a").SEE_SELF).toBe("root-self");
    expect(ctx(tree, "a").SELF).toBe("a-self");
  });

  it("exposes build args only as BUILD_ARG_<NAME>, missing ones print <no value>", async () => {
    const tree = await load(
      {
        Pkgfile: PKGFILE,
        "pkg.yaml": pkgYaml(
          "p",
          'shell: "{{ .BUILD_ARG_TAG }}|{{ .BUILD_ARG_MISSING }}|{{ .SOURCE_DATE_EPOCH }}|{{ .BUILD_ARG_SOURCE_DATE_EPOCH }}"\n',
        ),
      },
      { buildArgs: { TAG: "v1.2", SOURCE_DATE_EPOCH: "1700000000" } },
    );
    expect(errors(tree)).toStrictEqual([]);
    expect(tree.packages.get("p")!.pkg.shell).toBe("v1.2|<no value>|<no value>|1700000000");
    expect(ctx(tree, "p").TAG).toBeUndefined();
  });

  it("uses the platform's built-ins (HOST is the build triple), never PKG_NAME", async () => {
    const files = {
      Pkgfile: PKGFILE,
      "pkg.yaml": pkgYaml("p", 'shell: "{{ .ARCH }} {{ .HOST }} {{ .CFLAGS }} {{ .PKG_NAME }}"\n'),
    };
    const amd = await load(files);
    const arm = await load(files, { platform: "linux/arm64" });
    expect(amd.packages.get("p")!.pkg.shell).toBe(
      "x86_64 x86_64-linux-musl -O2 -g0 -march=x86-64-v2 -mtune=generic <no value>",
    );
    expect(arm.packages.get("p")!.pkg.shell).toBe("aarch64 aarch64-linux-musl -O2 -g0 <no value>");
    expect(arm.platform).toBe("linux/arm64");
  });

  it("throws LOAD_PLATFORM_UNSUPPORTED for an unknown platform", async () => {
    const t = await makeTree({ Pkgfile: PKGFILE });
    trees.push(t);
    await expect(loadTree({ root: t.root, platform: "linux/s390x" as never })).rejects.toMatchObject({
      code: "LOAD_PLATFORM_UNSUPPORTED",
    });
  });

  it("renders the whole text first: directives in YAML comments choose structure per arch", async () => {
    const files = {
      Pkgfile: PKGFILE,
      "pkg.yaml": [
        "name: driver",
        "variant: scratch",
        "dependencies:",
        '  # {{ if eq .ARCH "aarch64" }}',
        "  - stage: arm-firmware",
        "  # {{ else }}",
        "  - stage: x86-firmware",
        "  # {{ end }}",
        "",
      ].join("\n"),
    };
    const amd = await load(files);
    const arm = await load(files, { platform: "linux/arm64" });
    expect(amd.packages.get("driver")!.pkg.dependencies.map((d) => d.stage)).toStrictEqual(["x86-firmware"]);
    expect(arm.packages.get("driver")!.pkg.dependencies.map((d) => d.stage)).toStrictEqual(["arm-firmware"]);
  });
});

describe("loadTree: discovery", () => {
  it("frontend mode walks dot-directories, CLI mode skips them", async () => {
    const files = { Pkgfile: PKGFILE, ".hidden/pkg.yaml": pkgYaml("hidden"), "a/pkg.yaml": pkgYaml("a") };
    const fe = await load(files);
    const cli = await load(files, { mode: "cli" });
    expect([...fe.packages.keys()].sort()).toStrictEqual(["a", "hidden"]);
    expect([...cli.packages.keys()]).toStrictEqual(["a"]);
  });

  it("frontend mode excludes the root _out/ only, CLI mode excludes nothing", async () => {
    const files = {
      Pkgfile: PKGFILE,
      "_out/pkg.yaml": pkgYaml("out"),
      "a/_out/pkg.yaml": pkgYaml("nested-out"),
    };
    const fe = await load(files);
    const cli = await load(files, { mode: "cli" });
    expect([...fe.packages.keys()]).toStrictEqual(["nested-out"]);
    expect([...cli.packages.keys()].sort()).toStrictEqual(["nested-out", "out"]);
  });

  it("only the exact names pkg.yaml / vars.yaml count", async () => {
    const tree = await load({
      Pkgfile: PKGFILE,
      "a/Pkg.yaml": pkgYaml("upper"),
      "a/pkg.yml": pkgYaml("yml"),
      "b/pkg.yaml": pkgYaml("b"),
    });
    expect([...tree.packages.keys()]).toStrictEqual(["b"]);
    expect(tree.files.pkgs).toStrictEqual(["b/pkg.yaml"]);
  });

  it("frontend mode fails without a Pkgfile, CLI mode warns and carries on", async () => {
    const files = { "a/pkg.yaml": pkgYaml("a") };
    const fe = await load(files);
    expect(codes(fe.diagnostics)).toStrictEqual(["LOAD_PKGFILE_MISSING"]);
    expect(fe.diagnostics[0]!.severity).toBe("error");
    expect(fe.diagnostics[0]!.message).toContain('error loading "Pkgfile"');
    expect(fe.packages.size).toBe(0);
    const cli = await load(files, { mode: "cli" });
    expect(cli.diagnostics).toMatchObject([{ code: "LOAD_PKGFILE_MISSING", severity: "warning" }]);
    expect([...cli.packages.keys()]).toStrictEqual(["a"]);
    expect(cli.pkgfile).toBeUndefined();
  });

  it("throws for a root that is not a directory or does not exist", async () => {
    const t = await makeTree({ Pkgfile: PKGFILE });
    trees.push(t);
    await expect(loadTree({ root: `${t.root}/Pkgfile` })).rejects.toMatchObject({
      code: "LOAD_ROOT_NOT_DIR",
    });
    await expect(loadTree({ root: `${t.root}/nope` })).rejects.toMatchObject({ code: "LOAD_ROOT_NOT_FOUND" });
  });

  it("does not follow symlinked directories", async () => {
    const tree = await load({ Pkgfile: PKGFILE, "real/pkg.yaml": pkgYaml("real") }, {}, { alias: "real" });
    expect(errors(tree)).toStrictEqual([]);
    expect(tree.files.pkgs).toStrictEqual(["real/pkg.yaml"]);
  });

  it("reads a symlinked file inside the root but refuses one that escapes it", async () => {
    const outside = await makeTree({ "pkg.yaml": pkgYaml("outside") });
    trees.push(outside);
    const tree = await load(
      { Pkgfile: PKGFILE, "shared/base.yaml": pkgYaml("linked") },
      {},
      { "a/pkg.yaml": "../shared/base.yaml", "b/pkg.yaml": `${outside.root}/pkg.yaml` },
    );
    expect([...tree.packages.keys()]).toStrictEqual(["linked"]);
    expect(tree.diagnostics).toMatchObject([
      { code: "LOAD_SYMLINK_ESCAPE", severity: "error", file: "b/pkg.yaml" },
    ]);
  });

  it("records every file found, loaded or not", async () => {
    const tree = await load({
      Pkgfile: PKGFILE,
      "vars.yaml": "A: b\n",
      "a/pkg.yaml": pkgYaml("a"),
      "a/x.conf.tmpl": "x",
      "b/pkg.yaml": "name: [\n",
    });
    expect(tree.files).toStrictEqual({
      pkgfile: "Pkgfile",
      vars: ["vars.yaml"],
      pkgs: ["a/pkg.yaml", "b/pkg.yaml"],
      templates: ["a/x.conf.tmpl"],
    });
  });
});

describe("loadTree: templated files", () => {
  const files = {
    Pkgfile: `${PKGFILE}vars:\n  VERSION: v1\n`,
    "a/vars.yaml": "TIER: contrib\n",
    "a/pkg.yaml": pkgYaml("a"),
    "a/files/manifest.yaml.tmpl": "version: {{ .VERSION }}\ntier: {{ .TIER }}\narch: {{ .ARCH }}\n",
    "a/sub/pkg.yaml": pkgYaml("sub"),
    "a/sub/s.tmpl": "{{ .TIER }}",
    "a/zz/late.tmpl": "late",
  };

  it("renders with the owning package's context, path relative to its dir without .tmpl", async () => {
    const tree = await load(files);
    const a = tree.packages.get("a")!;
    expect(a.templatedFiles).toStrictEqual([
      {
        source: "a/files/manifest.yaml.tmpl",
        path: "files/manifest.yaml",
        content: "version: v1\ntier: contrib\narch: x86_64\n",
      },
    ]);
    expect(tree.packages.get("sub")!.templatedFiles[0]).toStrictEqual({
      source: "a/sub/s.tmpl",
      path: "s",
      content: "contrib",
    });
  });

  it("frontend attaches to the package loaded last, CLI to the nearest package directory", async () => {
    const fe = await load(files);
    expect(fe.packages.get("sub")!.templatedFiles.map((t) => t.path)).toStrictEqual(["s", "../zz/late"]);
    expect(fe.diagnostics).toMatchObject([{ code: "LOAD_TEMPLATE_OUTSIDE_PACKAGE", file: "a/zz/late.tmpl" }]);
    const cli = await load(files, { mode: "cli" });
    expect(cli.diagnostics).toStrictEqual([]);
    expect(cli.packages.get("a")!.templatedFiles.map((t) => t.path)).toStrictEqual([
      "files/manifest.yaml",
      "zz/late",
    ]);
    expect(cli.packages.get("sub")!.templatedFiles.map((t) => t.path)).toStrictEqual(["s"]);
  });

  it("reports a template with no package to attach to, in each mode's words", async () => {
    const fe = await load({ Pkgfile: PKGFILE, "early.tmpl": "x", "b/pkg.yaml": pkgYaml("b") });
    expect(fe.diagnostics).toMatchObject([
      { code: "LOAD_TEMPLATE_NO_PACKAGE", message: 'no package found to attach templated file "early.tmpl"' },
    ]);
    const cli = await load(
      { Pkgfile: PKGFILE, "a/pkg.yaml": pkgYaml("a"), "b/t.tmpl": "x" },
      { mode: "cli" },
    );
    expect(cli.diagnostics).toMatchObject([
      {
        code: "LOAD_TEMPLATE_NO_PACKAGE",
        message: "no suitable package found for template",
        file: "b/t.tmpl",
      },
    ]);
    const feSame = await load({ Pkgfile: PKGFILE, "a/pkg.yaml": pkgYaml("a"), "b/t.tmpl": "x" });
    expect(feSame.packages.get("a")!.templatedFiles.map((t) => t.path)).toStrictEqual(["../b/t"]);
  });

  it("reports a broken template with its TEMPLATE_* code and position", async () => {
    const tree = await load({
      Pkgfile: PKGFILE,
      "pkg.yaml": pkgYaml("p"),
      "bad.conf.tmpl": "ok\nline {{ .X | nosuchfunction }}\n",
    });
    expect(tree.diagnostics).toHaveLength(1);
    expect(tree.diagnostics[0]!.code).toMatch(/^TEMPLATE_/);
    expect(tree.diagnostics[0]).toMatchObject({ file: "bad.conf.tmpl", line: 2 });
    expect(tree.packages.get("p")!.templatedFiles).toStrictEqual([]);
  });
});

describe("loadTree: duplicates and errors", () => {
  it("reports a duplicate name at the second name:, with both dirs in load order", async () => {
    const files = {
      Pkgfile: PKGFILE,
      "a/pkg.yaml": pkgYaml("same"),
      "a/b/pkg.yaml": `# a comment line\n${pkgYaml("same")}`,
    };
    const fe = await load(files);
    expect(fe.diagnostics).toMatchObject([
      {
        code: "LOAD_DUPLICATE_PACKAGE",
        message: 'package "same" already exists, duplicate in dirs "/a/b" and "/a"',
        file: "a/b/pkg.yaml",
        line: 2,
        column: 7,
      },
    ]);
    expect(fe.packages.get("same")!.dir).toBe("a");
    // filepath.Walk visits a/b/ before a/pkg.yaml ("b" < "pkg.yaml").
    const cli = await load(files, { mode: "cli" });
    expect(cli.diagnostics).toMatchObject([
      {
        code: "LOAD_DUPLICATE_PACKAGE",
        message: 'package "same" already exists, duplicate in dirs "a" and "a/b"',
        file: "a/pkg.yaml",
        line: 1,
      },
    ]);
    expect(cli.packages.get("same")!.dir).toBe("a/b");
  });

  it("loads every file and aggregates errors per file, positions in the SOURCE file", async () => {
    const tree = await load({
      Pkgfile: PKGFILE,
      "good/pkg.yaml": pkgYaml("good"),
      // On amd64 the template removes lines 2-3, the YAML error is still reported at source line 6.
      "yaml/pkg.yaml": [
        "name: yaml-broken",
        '# {{ if eq .ARCH "aarch64" }}',
        "shell: /bin/bash",
        "# {{ end }}",
        "variant: scratch",
        "shell: a: b",
        "install: []",
        "",
      ].join("\n"),
      "tmpl/pkg.yaml": "name: tmpl-broken\nvariant: scratch\nshell: {{ .X | nosuchfunction }}\n",
      "schema/pkg.yaml":
        '# {{ if eq .ARCH "aarch64" }}\n# removed\n# {{ end }}\nname: schema-broken\nvariant: nope\n',
    });
    expect([...tree.packages.keys()]).toStrictEqual(["good"]);
    const byFile = Object.fromEntries(tree.diagnostics.map((d) => [d.file, d]));
    expect(byFile["yaml/pkg.yaml"]).toMatchObject({ code: "YAML_SYNTAX", line: 6, column: 8 });
    expect(byFile["tmpl/pkg.yaml"]!.code).toMatch(/^TEMPLATE_/);
    expect(byFile["tmpl/pkg.yaml"]).toMatchObject({ line: 3, column: 16 });
    expect(byFile["schema/pkg.yaml"]!.code).toMatch(/^SCHEMA_/);
    expect(byFile["schema/pkg.yaml"]).toMatchObject({ line: 5, column: 10 });
    expect(tree.diagnostics.every((d) => d.severity === "error")).toBe(true);
  });

  it("stops the subtree of a broken vars.yaml but loads everything else", async () => {
    const tree = await load({
      Pkgfile: PKGFILE,
      "a/vars.yaml": "X: [\n",
      "a/pkg.yaml": pkgYaml("a"),
      "a/b/pkg.yaml": pkgYaml("b"),
      "c/pkg.yaml": pkgYaml("c"),
    });
    expect([...tree.packages.keys()]).toStrictEqual(["c"]);
    expect(tree.diagnostics).toMatchObject([{ code: "YAML_SYNTAX", file: "a/vars.yaml" }]);
    const cli = await load(
      {
        Pkgfile: PKGFILE,
        "a/vars.yaml": 'X: {{ fail "boom" }}\n',
        "a/b/pkg.yaml": pkgYaml("b"),
        "c/pkg.yaml": pkgYaml("c"),
      },
      { mode: "cli" },
    );
    expect([...cli.packages.keys()]).toStrictEqual(["c"]);
    expect(cli.diagnostics[0]!.code).toMatch(/^TEMPLATE_/);
  });

  it("reports a broken Pkgfile and carries on without its vars", async () => {
    const tree = await load({ Pkgfile: "format: v1alpha1\n", "a/pkg.yaml": pkgYaml("a") });
    expect(tree.pkgfile).toBeUndefined();
    expect(errors(tree)[0]).toMatchObject({ file: "Pkgfile" });
    expect([...tree.packages.keys()]).toStrictEqual(["a"]);
  });
});
