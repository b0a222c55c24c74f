/**
 * `talos-ext new` through the real binary: the scaffold lints clean and builds without edits —
 * without any engine (--no-build) and in a container with the docker engine's BuildKit (a
 * service compiled from C, a source fetched from a real HTTP server with checksums filled by update).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type DockerEngine, startDockerEngine } from "../../../tools/harness/docker.ts";
import { type SourceServer, startSourceServer } from "../../../tools/harness/source-server.ts";
import { ensureToolchainImage } from "../../../tools/harness/toolchain.ts";
import { BIN, EXTENSIONS, expectNoStack } from "./run.ts";

const exec = promisify(execFile);
const NO_DOCKER = { PATH: `/nonexistent:${process.env.PATH}`, DOCKER_HOST: "unix:///nonexistent.sock" };
const MIRROR = "ghcr.io/talos-ext-playground=talos-ext.local";

let tmp: string;
let server: SourceServer;
let tarball: Buffer;
let engine: DockerEngine;

/** Runs the binary without blocking this process (the source server answers from here). */
async function talosExt(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const r = await exec(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === "number" ? err.code : -1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
    };
  }
}

async function treeCopy(): Promise<string> {
  const root = await mkdtemp(join(tmp, "tree-"));
  await cp(EXTENSIONS, root, { recursive: true });
  return root;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-cli-new-"));
  const src = join(tmp, "src");
  await mkdir(join(src, "tool-1.2.0"), { recursive: true });
  await writeFile(join(src, "tool-1.2.0/README"), "tool\n");
  await exec("tar", ["-C", src, "-czf", join(tmp, "tool.tar.gz"), "tool-1.2.0"]);
  tarball = await readFile(join(tmp, "tool.tar.gz"));
  server = await startSourceServer();
  server.addFile("tool-1.2.0.tar.gz", tarball);
  engine = await startDockerEngine();
  ensureToolchainImage(engine.cli, engine.host);
});
afterAll(async () => {
  await server?.close();
  await engine?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe("new", () => {
  test("--no-build: lints clean and builds without any engine", async () => {
    const root = await treeCopy();
    const n = await talosExt(["new", "my-rules", "--root", root, "--no-build", "--json"]);
    expect(n.code, n.stderr).toBe(0);
    expect(JSON.parse(n.stdout).files).toEqual([
      "my-rules/files/my-rules.conf",
      "my-rules/manifest.yaml.tmpl",
      "my-rules/pkg.yaml",
      "my-rules/vars.yaml",
    ]);
    const lint = await talosExt(["lint", "--root", root, "--target", "my-rules", "--json"]);
    expect(lint.code).toBe(0);
    expect(JSON.parse(lint.stdout).diagnostics).toEqual([]);
    const b = await talosExt(
      ["build", "my-rules", "--root", root, "--output", join(root, "_out/x"), "--json"],
      NO_DOCKER,
    );
    expectNoStack(b.stderr);
    expect(b.code, b.stderr).toBe(0);
  });

  test("--service: a C daemon compiled in a container; the image validates", async () => {
    const root = await treeCopy();
    const n = await talosExt([
      "new",
      "my-daemon",
      "--root",
      root,
      "--dir",
      "examples/my-daemon",
      "--service",
      "--builder",
      "image:{{ .TOOLCHAIN_IMAGE }}",
    ]);
    expect(n.code, n.stderr).toBe(0);
    const lint = await talosExt(["lint", "--root", root, "--target", "my-daemon", "--json"]);
    expect(lint.code).toBe(0);
    // The only finding is the tree's own tag-pinned toolchain reference, as for hello-service.
    expect(JSON.parse(lint.stdout).diagnostics.map((d: { code: string }) => d.code)).toEqual([
      "LINT_IMAGE_TAG_ONLY",
    ]);
    const out = join(tmp, "daemon");
    const b = await talosExt(["build", "my-daemon", "--root", root, "--mirror", MIRROR, "--output", out], {
      DOCKER_HOST: engine.host,
    });
    expect(b.code, b.stderr).toBe(0);
    const v = await talosExt(["validate", out, "--pkg-name", "my-daemon"]);
    expect(v.code, v.stderr).toBe(0);
  });

  test("--source: update fills the checksums from the download; the build fetches and unpacks it", async () => {
    const root = await treeCopy();
    const n = await talosExt([
      "new",
      "tool",
      "--root",
      root,
      "--dir",
      "examples/tool",
      "--source",
      `${server.url}/file/tool-1.2.0.tar.gz`,
      "--package-version",
      "1.2.0",
      "--builder",
      "image:{{ .TOOLCHAIN_IMAGE }}",
      "--cache-dir",
      join(tmp, "cache"),
    ]);
    expect(n.code, n.stderr).toBe(0);
    const vars = await readFile(join(root, "examples/tool/vars.yaml"), "utf8");
    expect(vars).toContain(`SHA256: ${createHash("sha256").update(tarball).digest("hex")}`);
    expect(vars).toContain(`SHA512: ${createHash("sha512").update(tarball).digest("hex")}`);
    const b = await talosExt(
      [
        "build",
        "tool",
        "--root",
        root,
        "--mirror",
        MIRROR,
        "--output",
        join(tmp, "tool"),
        "--cache-dir",
        join(tmp, "cache"),
      ],
      { DOCKER_HOST: engine.host },
    );
    expect(b.code, b.stderr).toBe(0);
  });

  test("a failed download leaves nothing behind", async () => {
    const root = await treeCopy();
    const n = await talosExt([
      "new",
      "gone",
      "--root",
      root,
      "--source",
      `${server.url}/file/gone-1.0.tar.gz`,
    ]);
    expect(n.code).toBe(1);
    expectNoStack(n.stderr);
    expect(n.stderr).toMatch(/UPDATE_|SOURCE_/);
    await expect(stat(join(root, "gone"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("bad input is a coded error", async () => {
    const root = await treeCopy();
    const code = async (args: string[]) => {
      const r = await talosExt([...args, "--root", root, "--json"]);
      expectNoStack(r.stderr);
      return { exit: r.code, codes: JSON.parse(r.stdout).diagnostics.map((d: { code: string }) => d.code) };
    };
    expect(await code(["new", "Bad_Name"])).toEqual({ exit: 1, codes: ["SCAFFOLD_BAD_NAME"] });
    expect(await code(["new", "x", "--service", "--no-build"])).toEqual({
      exit: 1,
      codes: ["SCAFFOLD_OPTIONS_CONFLICT"],
    });
    expect(await code(["new", "usb-serial-rules", "--dir", "elsewhere"])).toEqual({
      exit: 1,
      codes: ["CLI_NEW_NAME_TAKEN"],
    });
    expect(await code(["new", "multipath-tools"])).toEqual({ exit: 1, codes: ["CLI_NEW_DIR_EXISTS"] });
    expect(await code(["new", "x", "--source", "https://example.org/x.tar.gz"])).toEqual({
      exit: 1,
      codes: ["SCAFFOLD_SOURCE_NO_VERSION"],
    });
    expect(await code(["new", "x", "--builder", "nope"])).toEqual({ exit: 2, codes: ["CLI_USAGE"] });
    expect(await code(["new", "x", "--dir", "../outside"])).toEqual({ exit: 2, codes: ["CLI_USAGE"] });
  });
});
