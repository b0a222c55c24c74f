/**
 * The plugin in a real Nx: a copy of extensions/ in a temp git workspace, Nx loading the plugin
 * from its TypeScript source (as a fresh clone does), real builds with the real CLI.
 */
import { appendFile, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadTree } from "@talos-ext/spec";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { makeWorkspace, type Workspace } from "./workspace.ts";

let ws: Workspace;
const NO_DOCKER = { PATH: `/nonexistent:${process.env.PATH}`, DOCKER_HOST: "unix:///nonexistent.sock" };

beforeAll(async () => {
  ws = await makeWorkspace();
});
afterAll(async () => {
  if (ws) await rm(ws.dir, { recursive: true, force: true });
});

async function affected(files: string[]): Promise<string[]> {
  const r = await ws.nx(["show", "projects", "--affected", `--files=${files.join(",")}`, "--json"]);
  expect(r.stderr).not.toMatch(/error/i);
  return (JSON.parse(r.stdout) as string[]).sort();
}

describe("projects", () => {
  test("nx show projects lists every package of extensions/", async () => {
    const tree = await loadTree({ root: join(ws.dir, "extensions") });
    const expected = [...tree.packages.keys()].sort();
    expect(expected.length).toBeGreaterThanOrEqual(4);
    const r = await ws.nx(["show", "projects", "--json"]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as string[]).sort()).toEqual(expected);
  });

  test("nx show project multipath-tools lists and explains its targets", async () => {
    const r = await ws.nx(["show", "project", "multipath-tools", "--json"]);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout);
    expect(p.root).toBe("extensions/multipath-tools");
    expect(p.tags).toEqual(["talos-ext", "talos-ext:extension"]);
    expect(Object.keys(p.targets).sort()).toEqual(["build", "deploy", "installer", "lint", "push", "test"]);
    for (const t of Object.values(p.targets) as {
      metadata: { description: string; help: { command: string } };
    }[]) {
      expect(t.metadata.description.length).toBeGreaterThan(30);
      expect(t.metadata.help.command).toMatch(/ --help$/);
    }
    expect(p.namedInputs["talos-ext-package"]).toEqual([
      "{projectRoot}/**/*",
      "{workspaceRoot}/extensions/Pkgfile",
      "{workspaceRoot}/extensions/vars.yaml",
    ]);
    const { build, lint, push, installer, deploy, test: check } = p.targets;
    expect(build.cache).toBe(true);
    expect(lint.cache).toBe(true);
    expect(check.cache).toBe(true);
    for (const t of [push, installer, deploy]) expect(t.cache).toBe(false);
    expect(build.outputs).toEqual(["{workspaceRoot}/dist/extensions/multipath-tools"]);
    expect(build.inputs).toEqual([
      "talos-ext-package",
      "^talos-ext-package",
      { runtime: expect.stringMatching(/ --version$/) },
    ]);
    expect(build.options.command).toMatch(
      / build multipath-tools --root extensions --output dist\/extensions\/multipath-tools$/,
    );
    expect(installer.options.command).toMatch(
      / deploy --extension multipath-tools --layout dist\/extensions\/multipath-tools --nx-build --until installer$/,
    );
    expect(deploy.options.command).toMatch(
      / deploy --extension multipath-tools --layout dist\/extensions\/multipath-tools --nx-build$/,
    );
    // Both build through Nx themselves (--nx-build, cached) so that a dry run builds nothing.
    for (const t of [installer, deploy]) expect(t.dependsOn ?? []).not.toContain("build");
  });

  test("an internal stage is tagged as such and only lints", async () => {
    const p = JSON.parse((await ws.nx(["show", "project", "base", "--json"])).stdout);
    expect(p.tags).toEqual(["talos-ext", "talos-ext:stage"]);
    expect(Object.keys(p.targets)).toEqual(["lint"]);
  });

  test("the inputs of a nested example name every vars.yaml above it", async () => {
    const p = JSON.parse((await ws.nx(["show", "project", "usb-serial-rules", "--json"])).stdout);
    expect(p.namedInputs["talos-ext-package"]).toEqual([
      "{projectRoot}/**/*",
      "{workspaceRoot}/extensions/Pkgfile",
      "{workspaceRoot}/extensions/examples/vars.yaml",
      "{workspaceRoot}/extensions/vars.yaml",
    ]);
  });

  test("a pkg.yaml that does not load is a lint-only project whose lint says why", async () => {
    const dir = join(ws.dir, "extensions/examples/broken");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "pkg.yaml"), "name: broken\nvariant: scratch\nsteps: {{ .NOPE\n");
    try {
      const p = JSON.parse((await ws.nx(["show", "project", "broken", "--json"])).stdout);
      expect(p.tags).toEqual(["talos-ext", "talos-ext:unloaded"]);
      expect(Object.keys(p.targets)).toEqual(["lint"]);
      const lint = await ws.nx(["run", "broken:lint", "--output-style=static"]);
      expect(lint.code).not.toBe(0);
      expect(lint.stdout + lint.stderr).toContain("examples/broken/pkg.yaml:3");
      expect(lint.stdout + lint.stderr).toContain("GRAPH_TARGET_UNKNOWN");
      // The others are untouched.
      expect(JSON.parse((await ws.nx(["show", "projects", "--json"])).stdout)).toContain("multipath-tools");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("graph and affected", () => {
  test("stage: dependencies are edges", async () => {
    await ws.nx(["graph", "--file=graph.json"]);
    const { readFile } = await import("node:fs/promises");
    const graph = JSON.parse(await readFile(join(ws.dir, "graph.json"), "utf8")).graph;
    expect(graph.dependencies["multipath-tools"]).toEqual([
      { source: "multipath-tools", target: "base", type: "static" },
    ]);
    expect(graph.dependencies.base).toEqual([]);
  });

  test("touching multipath-tools/vars.yaml affects only multipath-tools", async () => {
    expect(await affected(["extensions/multipath-tools/vars.yaml"])).toEqual(["multipath-tools"]);
  });

  test("touching internal/base affects base and everything built on it", async () => {
    expect(await affected(["extensions/internal/base/pkg.yaml"])).toEqual(["base", "multipath-tools"]);
  });

  test("shared files affect exactly the packages below them", async () => {
    expect(await affected(["extensions/examples/vars.yaml"])).toEqual(["hello-service", "usb-serial-rules"]);
    expect(await affected(["extensions/vars.yaml"])).toEqual([
      "base",
      "hello-service",
      "multipath-tools",
      "usb-serial-rules",
    ]);
    expect(await affected(["extensions/talos-release-pins.csv"])).toEqual([]);
  });

  test("image: dependencies on images this tree publishes are edges", async () => {
    const consumer = join(ws.dir, "extensions/examples/rules-bundle");
    await mkdir(consumer, { recursive: true });
    await writeFile(
      join(consumer, "pkg.yaml"),
      [
        "name: rules-bundle",
        "variant: scratch",
        "dependencies:",
        '  - image: "registry.example/talos/usb-serial-rules:1.0.0"',
        "finalize:",
        "  - from: /",
        "    to: /",
        "",
      ].join("\n"),
    );
    await ws.configure({ registry: "registry.example/talos" });
    try {
      expect(await affected(["extensions/examples/usb-serial-rules/rules/70-usb-serial.rules"])).toEqual([
        "rules-bundle",
        "usb-serial-rules",
      ]);
      const push = JSON.parse((await ws.nx(["show", "project", "usb-serial-rules", "--json"])).stdout).targets
        .push;
      expect(push.options.command).toMatch(
        / push dist\/extensions\/usb-serial-rules registry.example\/talos\/usb-serial-rules:1.0.0$/,
      );
    } finally {
      await rm(consumer, { recursive: true, force: true });
      await ws.configure({});
    }
  });
});

describe("cache", () => {
  test("a second build with nothing changed is a cache hit; a change in an input is not", async () => {
    const first = await ws.nx(["run", "usb-serial-rules:build", "--output-style=static"], NO_DOCKER);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain("Cache:             0/1 hit");
    const second = await ws.nx(["run", "usb-serial-rules:build", "--output-style=static"], NO_DOCKER);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("Cache:             1/1 hit");
    await appendFile(join(ws.dir, "extensions/examples/vars.yaml"), "# touched\n");
    const third = await ws.nx(["run", "usb-serial-rules:build", "--output-style=static"], NO_DOCKER);
    expect(third.code).toBe(0);
    expect(third.stdout).toContain("Cache:             0/1 hit");
  });

  test("lint and test run through the CLI and pass for a buildable extension", async () => {
    const r = await ws.nx(
      ["run-many", "-t", "lint,test", "-p", "usb-serial-rules", "--output-style=static"],
      NO_DOCKER,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("valid: usb-serial-rules 1.0.0");
    expect(r.stdout).toContain("ok: 1 package(s) checked");
  });
});
