import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { COMMANDS } from "../src/cli.ts";
import { EXTENSIONS, expectNoStack, talosExt } from "./run.ts";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-cli-"));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmp, "tree-"));
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(root, rel, ".."), { recursive: true });
    await writeFile(join(root, rel), content);
  }
  return root;
}

describe("talos-ext", () => {
  test("every command has --help with examples", () => {
    for (const c of COMMANDS) {
      const r = talosExt([c.name, "--help"]);
      expect(r.code, c.name).toBe(0);
      expect(r.stdout).toContain(`Usage: talos-ext ${c.name}`);
      expect(r.stdout).toContain("Examples:");
      expect(r.stdout).toContain("--json");
    }
  });

  test("no command prints the overview and exits 2; an unknown one is a usage error", () => {
    expect(talosExt([]).code).toBe(2);
    const r = talosExt(["frobnicate", "--json"]);
    expect(r.code).toBe(2);
    expect(r.json().diagnostics[0].code).toBe("CLI_UNKNOWN_COMMAND");
  });

  test("unknown options and bad platforms are usage errors (exit 2)", () => {
    const a = talosExt(["lint", "--nope"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("CLI_USAGE");
    const b = talosExt(["lint", "--root", EXTENSIONS, "--platform", "linux/riscv64", "--json"]);
    expect(b.code).toBe(2);
    expect(b.json().diagnostics[0].message).toContain('platform "linux/riscv64" is not defined');
  });
});

describe("lint", () => {
  test("the repo's extensions/ tree is clean for both platforms", () => {
    const r = talosExt(["lint", "--root", EXTENSIONS, "--json"]);
    expectNoStack(r.stderr);
    const out = r.json();
    expect(out.diagnostics.filter((d: { severity: string }) => d.severity === "error")).toEqual([]);
    expect(r.code).toBe(0);
    expect(out.ok).toBe(true);
    expect(out.packages).toEqual(
      expect.arrayContaining(["base", "multipath-tools", "hello-service", "usb-serial-rules"]),
    );
  });

  test("bad input: exit 1, code and file:line:col, no stack trace", async () => {
    const root = await tree({
      Pkgfile: "format: v1alpha2\n",
      "a/pkg.yaml": "name: a\nvariant: scratch\ndependencies:\n  - stage: missing\n",
      "b/pkg.yaml": "name: b\nvariant: wrong\n",
      "c/pkg.yaml": "name: c\nvariant: scratch\nsteps:\n  - build: [make]\n",
      "d/pkg.yaml": "name: d\nvariant: scratch\n{{ if }}\n",
      "e/pkg.yaml": "name: e\nvariant: scratch\n  bad: [\n",
    });
    const r = talosExt(["lint", "--root", root, "--platform", "linux/amd64"]);
    expect(r.code).toBe(1);
    expectNoStack(r.stderr);
    expect(r.stderr).toMatch(/b\/pkg\.yaml:2:\d+: error SCHEMA_INVALID_VALUE: unknown variant "wrong"/);
    expect(r.stderr).toMatch(/c\/pkg\.yaml:\d+:\d+: error SCHEMA_FINALIZE_MISSING/);
    expect(r.stderr).toMatch(/d\/pkg\.yaml:3:\d+: error TEMPLATE_PARSE/);
    expect(r.stderr).toMatch(/e\/pkg\.yaml:\d+:\d+: error YAML_SYNTAX/);
    expect(r.stderr).toMatch(/a\/pkg\.yaml:4:\d+: error GRAPH_UNKNOWN_STAGE/);
    expect(r.stderr).toMatch(/hint: /);
  });

  test("a directory that is not a tree, and a missing directory, are errors with codes", async () => {
    const empty = await tree({ "README.md": "hi" });
    const a = talosExt(["lint", "--root", empty, "--json"]);
    expect(a.code).toBe(1);
    expect(a.json().diagnostics.map((d: { code: string }) => d.code)).toContain("LOAD_PKGFILE_MISSING");
    const b = talosExt(["lint", "--root", join(tmp, "does-not-exist"), "--json"]);
    expect(b.code).toBe(1);
    expectNoStack(b.stderr);
    expect(b.json().ok).toBe(false);
  });
});

describe("graph and dump", () => {
  test("graph prints DOT like bldr graph, or JSON", () => {
    const dot = talosExt(["graph", "--root", EXTENSIONS, "--target", "multipath-tools"]);
    expect(dot.code).toBe(0);
    expect(dot.stdout.startsWith("digraph  {\n")).toBe(true);
    expect(dot.stdout).toContain('label="multipath-tools"');
    const json = talosExt(["graph", "--root", EXTENSIONS, "--target", "multipath-tools", "--json"]).json();
    expect(json.nodes.map((n: { name: string }) => n.name)).toEqual(
      expect.arrayContaining(["base", "multipath-tools"]),
    );
  });

  test("dump shows rendered fields and variables", () => {
    const r = talosExt([
      "dump",
      "--root",
      EXTENSIONS,
      "--target",
      "multipath-tools",
      "--platform",
      "linux/arm64",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const mp = r.json().packages.find((p: { name: string }) => p.name === "multipath-tools");
    expect(mp.context.ARCH).toBe("aarch64");
    expect(mp.pkg.steps[0].sources[0].url).toBe(
      "https://github.com/opensvc/multipath-tools/archive/refs/tags/0.13.0.tar.gz",
    );
  });

  test("an unknown target is an error with a code", () => {
    const r = talosExt(["graph", "--root", EXTENSIONS, "--target", "nope", "--json"]);
    expect(r.code).toBe(1);
    expectNoStack(r.stderr);
  });
});

describe("validate", () => {
  test("a good extension directory passes; a bad one fails with locations", async () => {
    const good = await tree({
      "manifest.yaml":
        'version: v1alpha1\nmetadata:\n  name: demo\n  version: "1.0.0"\n  compatibility:\n    talos:\n      version: ">= v1.10.0"\n',
      "rootfs/usr/local/bin/demo": "#!/bin/sh\n",
    });
    const ok = talosExt(["validate", good, "--pkg-name", "demo", "--json"]);
    expect(ok.code).toBe(0);
    expect(ok.json().ok).toBe(true);

    const bad = await tree({
      "manifest.yaml": 'version: v1alpha1\nmetadata:\n  name: demo\n  version: "1.0"\n',
      "rootfs/usr/bin/demo": "x",
      "extra.txt": "x",
    });
    const r = talosExt(["validate", bad, "--json"]);
    expect(r.code).toBe(1);
    const codes = r.json().diagnostics.map((d: { code: string }) => d.code);
    expect(codes).toEqual(expect.arrayContaining(["EXT_UNEXPECTED_FILE"]));
    expectNoStack(r.stderr);
  });

  test("a missing input is an error, not a crash", () => {
    const r = talosExt(["validate", join(tmp, "nope")]);
    expect(r.code).toBe(1);
    expectNoStack(r.stderr);
    expect(r.stderr).toMatch(/error [A-Z_]+: /);
  });
});
