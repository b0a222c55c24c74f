/**
 * `nx g @talos-ext/nx:extension` in a real Nx workspace: the result is a project at once, lints
 * clean and builds without edits; with a source URL the callback fills the checksums through
 * `talos-ext update`, downloading from a real HTTP server.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type SourceServer, startSourceServer } from "../../../tools/harness/source-server.ts";
import { GENERATORS, makeWorkspace, type Workspace } from "./workspace.ts";

let ws: Workspace;
let server: SourceServer;
let tarball: Buffer;
const NO_DOCKER = { PATH: `/nonexistent:${process.env.PATH}`, DOCKER_HOST: "unix:///nonexistent.sock" };

beforeAll(async () => {
  ws = await makeWorkspace();
  const src = await mkdtemp(join(tmpdir(), "talos-ext-nx-src-"));
  await mkdir(join(src, "tool-1.2.0"));
  await writeFile(join(src, "tool-1.2.0/README"), "tool\n");
  execFileSync("tar", ["-C", src, "-czf", join(src, "tool.tar.gz"), "tool-1.2.0"]);
  tarball = await readFile(join(src, "tool.tar.gz"));
  await rm(src, { recursive: true, force: true });
  server = await startSourceServer();
  server.addFile("tool-1.2.0.tar.gz", tarball);
});
afterAll(async () => {
  await server?.close();
  if (ws) await rm(ws.dir, { recursive: true, force: true });
});

describe("nx g @talos-ext/nx:extension", () => {
  test("a no-build extension is a project that lints clean and builds without edits", async () => {
    const g = await ws.nx(["g", `${GENERATORS}:extension`, "demo", "--noBuild"]);
    expect(g.code, g.stdout + g.stderr).toBe(0);
    expect(g.stdout).toContain("CREATE extensions/demo/pkg.yaml");
    const p = JSON.parse((await ws.nx(["show", "project", "demo", "--json"])).stdout);
    expect(p.tags).toContain("talos-ext:extension");
    const r = await ws.nx(
      ["run-many", "-t", "lint,build,test", "-p", "demo", "--output-style=static"],
      NO_DOCKER,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("ok: 1 package(s) checked");
    expect(r.stdout).not.toMatch(/warning|error\(s\)/);
    expect(r.stdout).toContain("valid: demo 0.1.0");
  });

  test("the same name again is refused with a code, nothing written", async () => {
    const g = await ws.nx(["g", `${GENERATORS}:extension`, "demo", "--noBuild"]);
    expect(g.code).not.toBe(0);
    expect(g.stdout + g.stderr).toContain("already exists");
  });

  test("with a source URL, update fills the checksums; the package lints clean", async () => {
    const g = await ws.nx([
      "g",
      `${GENERATORS}:extension`,
      "tool",
      `--sourceUrl=${server.url}/file/tool-1.2.0.tar.gz`,
      "--packageVersion=1.2.0",
      "--directory=examples/tool",
      "--builder=image:{{ .TOOLCHAIN_IMAGE }}",
    ]);
    expect(g.code, g.stdout + g.stderr).toBe(0);
    const vars = await readFile(join(ws.dir, "extensions/examples/tool/vars.yaml"), "utf8");
    expect(vars).toContain(`SHA256: ${createHash("sha256").update(tarball).digest("hex")}`);
    expect(vars).toContain(`SHA512: ${createHash("sha512").update(tarball).digest("hex")}`);
    const pkg = await readFile(join(ws.dir, "extensions/examples/tool/pkg.yaml"), "utf8");
    expect(pkg).toContain(`url: "${server.url}/file/tool-{{ .VERSION }}.tar.gz"`);
    expect(server.hits("/file/tool-1.2.0.tar.gz")).toBe(1);
    const lint = await ws.nx(["run", "tool:lint", "--output-style=static"]);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    // The only finding is the tree's own toolchain reference (tag-pinned), as for hello-service.
    expect(lint.stdout).toContain("0 error(s), 1 warning(s)");
    expect(lint.stdout).toContain("LINT_IMAGE_TAG_ONLY");
  });

  test("bad options are errors with a code", async () => {
    const g = await ws.nx(["g", `${GENERATORS}:extension`, "Bad_Name"]);
    expect(g.code).not.toBe(0);
    expect(g.stdout + g.stderr).toContain("is not a valid extension name");
  });
});
