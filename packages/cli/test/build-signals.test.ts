/**
 * SIGINT/SIGTERM during `talos-ext build`: a real child process, stopped while it downloads a
 * source from a server that never answers, leaves no work directory and no temp layout behind;
 * leftovers of killed runs (dead PIDs) are cleaned up by the next run.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BIN, expectNoStack, talosExt } from "./run.ts";

const PKGFILE = "# syntax = ghcr.io/siderolabs/bldr:v0.6.3\nformat: v1alpha2\n";
const DEAD_PID = 2 ** 30; // above any pid_max: never a live process
const NO_DOCKER = { PATH: `/nonexistent:${process.env.PATH}`, DOCKER_HOST: "unix:///nonexistent.sock" };

let base: string;
let server: Server;
let port: number;
let requested: () => void = () => {};
const held: import("node:http").ServerResponse[] = [];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "talos-ext-signals-"));
  // Answers nothing: the build waits in the download until it is signalled.
  server = createServer((_req, res) => {
    held.push(res);
    requested();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  for (const r of held) r.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(base, { recursive: true, force: true });
});

async function tree(dir: string): Promise<void> {
  await mkdir(join(dir, "slow"), { recursive: true });
  await writeFile(join(dir, "Pkgfile"), PKGFILE);
  await writeFile(
    join(dir, "slow/pkg.yaml"),
    [
      "name: slow",
      "variant: scratch",
      "steps:",
      "  - sources:",
      `      - url: http://127.0.0.1:${port}/never.tar.gz`,
      "        destination: never.tar.gz",
      `        sha256: ${"a".repeat(64)}`,
      `        sha512: ${"b".repeat(128)}`,
      "finalize:",
      "  - from: /tmp/build",
      "    to: /",
      "",
    ].join("\n"),
  );
}

describe("build and signals", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(`${signal} removes the work dir and this run's temp layout`, async () => {
      const dir = join(base, signal);
      const tmp = join(dir, "tmp");
      await mkdir(tmp, { recursive: true });
      await tree(dir);
      const out = join(dir, "dist/slow");
      await mkdir(join(dir, "dist"));
      const gotRequest = new Promise<void>((r) => {
        requested = r;
      });
      const child = spawn(
        process.execPath,
        [BIN, "build", "slow", "--root", dir, "--output", out, "--cache-dir", join(dir, "cache")],
        { env: { ...process.env, ...NO_DOCKER, TMPDIR: tmp }, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stderr = "";
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
        child.on("exit", (code, sig) => r({ code, signal: sig })),
      );
      await gotRequest;
      // The work dir exists now; stand in for a partial layout of this run beside the output.
      expect((await readdir(tmp)).filter((n) => n.startsWith(`talos-ext-build-${child.pid}-`))).toHaveLength(
        1,
      );
      await mkdir(join(dir, "dist", `.tmp-slow-${child.pid}-0123abcd`, "blobs"), { recursive: true });
      child.kill(signal);
      const result = await exited;
      expect(result.signal).toBe(signal);
      expectNoStack(stderr);
      expect(await readdir(tmp)).toEqual([]);
      expect(await readdir(join(dir, "dist"))).toEqual([]);
    });
  }

  test("the next run removes leftovers of dead runs and restores a layout a killed run had moved aside", async () => {
    const dir = join(base, "stale");
    const tmp = join(dir, "tmp");
    await mkdir(join(dir, "p"), { recursive: true });
    await writeFile(join(dir, "Pkgfile"), PKGFILE);
    await writeFile(
      join(dir, "p/pkg.yaml"),
      "name: p\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
    );
    await writeFile(join(dir, "p/f"), "f\n");
    const out = join(dir, "dist/p");
    // A good layout, then a run killed after moving it aside: the output is missing.
    const first = talosExt(["build", "p", "--root", dir, "--output", out, "--json"], { env: NO_DOCKER });
    expect(first.code).toBe(0);
    const index = await readFile(join(out, "index.json"), "utf8");
    await mkdir(join(tmp, `talos-ext-build-${DEAD_PID}-abc123`, "rootfs"), { recursive: true });
    await mkdir(join(dir, "dist", `.tmp-p-${DEAD_PID}-00ff`, "blobs"), { recursive: true });
    const { rename } = await import("node:fs/promises");
    await rename(out, join(dir, "dist", `.tmp-p-old-${DEAD_PID}-11ee`));
    // An unrelated build of another output restores nothing of ours but cleans the work dirs.
    const other = talosExt(["build", "p", "--root", dir, "--output", join(dir, "dist/q"), "--json"], {
      env: { ...NO_DOCKER, TMPDIR: tmp },
    });
    expect(other.code).toBe(0);
    expect(await readdir(tmp)).toEqual([]);
    // The next build of p puts the last good layout back first, then replaces it as usual.
    const again = talosExt(["build", "p", "--root", dir, "--output", out, "--json"], {
      env: { ...NO_DOCKER, TMPDIR: tmp },
    });
    expect(again.code).toBe(0);
    expect(await readFile(join(out, "index.json"), "utf8")).toBe(index);
    expect((await readdir(join(dir, "dist"))).sort()).toEqual(["p", "q"]);
  });

  test("an output holding user files is refused without a stack trace, exit 1", async () => {
    const dir = join(base, "refuse");
    await mkdir(join(dir, "p"), { recursive: true });
    await writeFile(join(dir, "Pkgfile"), PKGFILE);
    await writeFile(
      join(dir, "p/pkg.yaml"),
      "name: p\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
    );
    await writeFile(join(dir, "p/f"), "f\n");
    const out = join(dir, "out");
    await mkdir(out);
    await writeFile(join(out, "oci-layout"), "{}");
    await writeFile(join(out, "notes.txt"), "mine\n");
    const r = talosExt(["build", "p", "--root", dir, "--output", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("OCI_OUTPUT_NOT_LAYOUT");
    expectNoStack(r.stderr);
    expect(await readFile(join(out, "notes.txt"), "utf8")).toBe("mine\n");
  });

  test("hostile trees stop with a code and exit 1, never a stack trace", async () => {
    const dir = join(base, "hostile");
    await mkdir(join(dir, "a"), { recursive: true });
    await mkdir(join(dir, "app"), { recursive: true });
    await mkdir(join(dir, "loop/one"), { recursive: true });
    await writeFile(join(dir, "Pkgfile"), PKGFILE);
    await writeFile(
      join(dir, "a/pkg.yaml"),
      "name: a\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
    );
    await writeFile(join(dir, "a/f"), "f\n");
    await writeFile(
      join(dir, "app/pkg.yaml"),
      "name: app\nvariant: scratch\ndependencies:\n  - stage: a\n    from: /nope\n    to: /x\nfinalize:\n  - from: /\n    to: /\n",
    );
    const { symlink } = await import("node:fs/promises");
    await mkdir(join(dir, "loop/two"), { recursive: true });
    await writeFile(join(dir, "loop/two/file"), "two\n");
    await symlink("y", join(dir, "loop/one/x"));
    await symlink("x", join(dir, "loop/one/y"));
    await writeFile(
      join(dir, "loop/pkg.yaml"),
      "name: loop\nvariant: scratch\nfinalize:\n  - from: /pkg/one\n    to: /\n  - from: /pkg/two/file\n    to: /x/file\n",
    );
    for (const [target, code] of [
      ["app", "BUILD_DEPENDENCY_FROM_MISSING"],
      ["loop", "BUILD_SYMLINK_LOOP"],
    ]) {
      const r = talosExt(["build", target!, "--root", dir, "--output", join(dir, `out-${target}`)], {
        env: NO_DOCKER,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(code);
      expectNoStack(r.stderr);
      expect(await readdir(dir)).not.toContain(`out-${target}`);
    }
  });
});
