/**
 * Hostile trees against the build (issue 6 §Critical): symlinks brought by a package dir, a stage,
 * an image or a finalize entry never lead a write onto the host. Each case has a "host" directory
 * outside every root, snapshotted before and after; the write either lands inside the root or
 * the build stops with a code.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readOciLayout } from "@talos-ext/spec";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { build, planPlatform } from "../src/build/build.ts";
import { writeBuildContext } from "../src/build/context.ts";
import { writeOciLayout } from "../src/oci/index.ts";
import { PKGFILE } from "./tree.ts";

const NO_DOCKER = { ...process.env, PATH: "/nonexistent", DOCKER_HOST: "unix:///nonexistent.sock" };
const PLATFORM = "linux/amd64" as const;

let base: string;
let tree: string;
let host: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "talos-ext-confine-"));
  tree = join(base, "tree");
  host = join(base, "host");
  await mkdir(join(host, "dir"), { recursive: true });
  await writeFile(join(host, "victim"), "original\n");
  await writeFile(join(tree, "Pkgfile"), PKGFILE).catch(async () => {
    await mkdir(tree, { recursive: true });
    await writeFile(join(tree, "Pkgfile"), PKGFILE);
  });
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Every path under `dir` with its kind and content, to compare before and after. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, r));
      if (st.isDirectory()) {
        out.push(`${r}/`);
        await walk(r);
      } else if (st.isSymbolicLink()) out.push(`${r} -> ${await readlink(join(dir, r))}`);
      else out.push(`${r}: ${await readFile(join(dir, r), "utf8")} ${st.mode & 0o7777}`);
    }
  };
  await walk("");
  return out;
}

async function files(spec: Record<string, string | { link: string }>): Promise<void> {
  for (const [rel, v] of Object.entries(spec)) {
    const abs = join(tree, rel);
    await mkdir(join(abs, ".."), { recursive: true });
    if (typeof v === "string") await writeFile(abs, v);
    else await symlink(v.link, abs);
  }
}

/** The single layer of a built layout, as a path -> entry map. */
async function builtEntries(outDir: string) {
  const t = await readOciLayout(outDir, PLATFORM);
  return new Map(t.entries.map((e) => [e.path.replace(/^\/+|\/+$/g, ""), e]));
}

const opts = (target: string, extra: Partial<Parameters<typeof build>[0]> = {}) => ({
  root: tree,
  target,
  platforms: [PLATFORM],
  outDir: join(base, "out"),
  env: NO_DOCKER,
  ...extra,
});

describe("templates never write through a symlink (case 1)", () => {
  test("no-engine path: owned -> host file next to owned.tmpl", async () => {
    await files({
      "evil/pkg.yaml": "name: evil\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
      "evil/owned": { link: join(host, "victim") },
      "evil/owned.tmpl": "rendered {{ .ARCH }}\n",
    });
    const before = await snapshot(host);
    await build(opts("evil"));
    expect(await snapshot(host)).toEqual(before);
    const owned = (await builtEntries(join(base, "out"))).get("owned");
    expect(owned?.type).toBe("file");
    expect(new TextDecoder().decode(await owned!.read!())).toBe("rendered x86_64\n");
  });

  test("engine path: the build context gets the rendered file, not a write through the link", async () => {
    await files({
      "evil/pkg.yaml":
        "name: evil\nvariant: alpine\nsteps:\n  - build:\n      - echo hi\nfinalize:\n  - from: /pkg\n    to: /\n",
      "evil/owned": { link: join(host, "victim") },
      "evil/owned.tmpl": "rendered\n",
    });
    const before = await snapshot(host);
    const { plan } = await planPlatform(opts("evil"), PLATFORM);
    const ctx = join(base, "ctx");
    await writeBuildContext(plan, ctx, new Map());
    expect(await snapshot(host)).toEqual(before);
    const written = join(ctx, plan.contextDirs[0]!.contextPath, "owned");
    expect((await lstat(written)).isFile()).toBe(true);
    expect(await readFile(written, "utf8")).toBe("rendered\n");
  });
});

describe("template bytes (case 13: invalid UTF-8)", () => {
  test("a template's invalid UTF-8 bytes land in the image unchanged, as Go keeps them", async () => {
    await files({ "raw/pkg.yaml": "name: raw\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n" });
    const bytes = Buffer.concat([
      Buffer.from("a "),
      Buffer.from([0xff, 0xc3, 0x28, 0x80]),
      Buffer.from(" {{ .ARCH }}\n"),
    ]);
    await writeFile(join(tree, "raw/blob.tmpl"), bytes);
    await build(opts("raw"));
    const blob = (await builtEntries(join(base, "out"))).get("blob");
    expect(Buffer.from(await blob!.read!())).toEqual(
      Buffer.concat([Buffer.from("a "), Buffer.from([0xff, 0xc3, 0x28, 0x80]), Buffer.from(" x86_64\n")]),
    );
  });
});

describe("stage merges (case 2)", () => {
  test("stage a ships x -> /host/dir, stage b ships x/file: the file lands inside the root", async () => {
    await files({
      "a/pkg.yaml": "name: a\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
      "a/x": { link: join(host, "dir") },
      "b/pkg.yaml": "name: b\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
      "b/x/file": "from b\n",
      "app/pkg.yaml": [
        "name: app",
        "variant: scratch",
        "dependencies:",
        "  - stage: a",
        "  - stage: b",
        "finalize:",
        "  - from: /x",
        "    to: /x",
        "",
      ].join("\n"),
    });
    const before = await snapshot(host);
    await build(opts("app"));
    expect(await snapshot(host)).toEqual(before);
    const entries = await builtEntries(join(base, "out"));
    expect(entries.get("x/file")?.type).toBe("file");
  });

  test("a relative ..-laden link and a link to a directory inside the root both stay inside", async () => {
    await files({
      "a/pkg.yaml": "name: a\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
      "a/up": { link: `../../../../../../../../..${host}/dir` },
      "a/data/keep": "keep\n",
      "a/in": { link: "/data" },
      "b/pkg.yaml": "name: b\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
      "b/up/file": "up\n",
      "b/in/file": "in\n",
      "app/pkg.yaml": [
        "name: app",
        "variant: scratch",
        "dependencies:",
        "  - stage: a",
        "  - stage: b",
        "finalize:",
        "  - from: /",
        "    to: /",
        "",
      ].join("\n"),
    });
    const before = await snapshot(host);
    await build(opts("app"));
    expect(await snapshot(host)).toEqual(before);
    const entries = await builtEntries(join(base, "out"));
    expect(entries.get("up/file")?.type).toBe("file");
    // `in -> /data` resolves inside the root to a directory: the file goes there, as in a container.
    expect(entries.get("in")?.type).toBe("symlink");
    expect(entries.get("data/file")?.type).toBe("file");
    expect(entries.get("data/keep")?.type).toBe("file");
  });
});

describe("image dependencies (case 3)", () => {
  async function imageWith(layer: string, links: Record<string, string>, dirs: string[]) {
    for (const d of dirs) await mkdir(join(layer, d), { recursive: true });
    for (const [path, target] of Object.entries(links)) await symlink(target, join(layer, path));
    const layout = join(base, `layout-${Object.keys(links).length}-${dirs.length}`);
    await writeOciLayout(layout, [{ platform: PLATFORM, layers: [layer] }], {
      sourceDateEpoch: 0,
      compression: "gzip",
    });
    return layout;
  }

  async function appWithImage(layout: string) {
    await files({
      "runner/pkg.yaml": "name: runner\nvariant: scratch\nfinalize:\n  - from: /pkg/files\n    to: /\n",
      "runner/files/var/run/app.pid": "42\n",
      "app/pkg.yaml": [
        "name: app",
        "variant: scratch",
        "dependencies:",
        `  - image: registry.example/debian:12@sha256:${"c".repeat(64)}`,
        "  - stage: runner",
        "finalize:",
        "  - from: /",
        "    to: /",
        "",
      ].join("\n"),
    });
    const pulled: string[] = [];
    const pullImage = async (ref: string, dir: string) => {
      pulled.push(ref);
      const { cp } = await import("node:fs/promises");
      await cp(layout, dir, { recursive: true });
    };
    return { pullImage, pulled };
  }

  test("var/run -> /host/dir in the image, var/run/... from a stage: nothing on the host", async () => {
    const layer = join(base, "layer");
    const layout = await imageWith(layer, { "var/run": join(host, "dir") }, ["var"]);
    const { pullImage, pulled } = await appWithImage(layout);
    const before = await snapshot(host);
    await build(opts("app", { pullImage }));
    expect(pulled).toHaveLength(1);
    expect(await snapshot(host)).toEqual(before);
    const entries = await builtEntries(join(base, "out"));
    expect(entries.get("var/run/app.pid")?.type).toBe("file");
  });

  test("var/run -> /run (as in Debian) keeps working: the file lands in the root's /run", async () => {
    const layer = join(base, "layer");
    const layout = await imageWith(layer, { "var/run": "/run" }, ["var", "run"]);
    const { pullImage } = await appWithImage(layout);
    await build(opts("app", { pullImage }));
    const entries = await builtEntries(join(base, "out"));
    expect(entries.get("var/run")?.type).toBe("symlink");
    expect(entries.get("run/app.pid")?.type).toBe("file");
  });
});

describe("finalize merges (case 4)", () => {
  test("the first entry brings x -> /host/dir, the second x/file: nothing on the host", async () => {
    await files({
      "evil/pkg.yaml": [
        "name: evil",
        "variant: scratch",
        "finalize:",
        "  - from: /pkg/one",
        "    to: /",
        "  - from: /pkg/two",
        "    to: /",
        "",
      ].join("\n"),
      "evil/one/x": { link: join(host, "dir") },
      "evil/two/x/file": "two\n",
    });
    const before = await snapshot(host);
    await build(opts("evil"));
    expect(await snapshot(host)).toEqual(before);
    const entries = await builtEntries(join(base, "out"));
    expect(entries.get("x")?.type).toBe("dir");
    expect(entries.get("x/file")?.type).toBe("file");
  });

  test("a symlink loop on the way is a coded error and nothing is written", async () => {
    await files({
      "evil/pkg.yaml": [
        "name: evil",
        "variant: scratch",
        "finalize:",
        "  - from: /pkg/one",
        "    to: /",
        "  - from: /pkg/two",
        "    to: /x",
        "",
      ].join("\n"),
      "evil/one/x": { link: "y" },
      "evil/one/y": { link: "x" },
      "evil/two/file": "two\n",
    });
    await expect(build(opts("evil"))).rejects.toMatchObject({ code: "BUILD_SYMLINK_LOOP" });
    await expect(lstat(join(base, "out"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("build-side internal errors are coded (item 13)", () => {
  test("a dependency from: that does not exist", async () => {
    await files({
      "a/pkg.yaml": "name: a\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
      "a/f": "f\n",
      "app/pkg.yaml": [
        "name: app",
        "variant: scratch",
        "dependencies:",
        "  - stage: a",
        "    from: /nope",
        "    to: /x",
        "finalize:",
        "  - from: /",
        "    to: /",
        "",
      ].join("\n"),
    });
    await expect(build(opts("app"))).rejects.toMatchObject({
      code: "BUILD_DEPENDENCY_FROM_MISSING",
      location: { file: expect.stringContaining("app/pkg.yaml") },
    });
  });

  test("an output that looks like a layout but holds other files is refused, untouched", async () => {
    await files({
      "p/pkg.yaml": "name: p\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
      "p/f": "f\n",
    });
    const out = join(base, "out");
    await build(opts("p"));
    await writeFile(join(out, "thesis.tex"), "years of work\n");
    await mkdir(join(out, "blobs/sha256"), { recursive: true });
    await writeFile(join(out, "blobs/sha256/notes.txt"), "mine\n");
    const before = await snapshot(out);
    await expect(build(opts("p"))).rejects.toMatchObject({ code: "OCI_OUTPUT_NOT_LAYOUT" });
    expect(await snapshot(out)).toEqual(before);
    await rm(join(out, "thesis.tex"));
    await expect(build(opts("p"))).rejects.toMatchObject({ code: "OCI_OUTPUT_NOT_LAYOUT" });
    await rm(join(out, "blobs/sha256/notes.txt"));
    await build(opts("p"));
  });

  test("two builds finalizing the same new output: one wins, the other is a coded error, the output intact", async () => {
    await files({
      "p/pkg.yaml": "name: p\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
      "p/f": "f\n",
    });
    const results = await Promise.allSettled([build(opts("p")), build(opts("p"))]);
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const f of failed) expect(f.reason).toMatchObject({ code: "BUILD_OUTPUT_BUSY" });
    const entries = await builtEntries(join(base, "out"));
    expect(entries.get("f")?.type).toBe("file");
    expect((await readdir(base)).filter((n) => n.startsWith(".tmp-") || n.endsWith("-lock"))).toEqual([]);
  });
});

describe("leftovers of killed runs", () => {
  test("an aside layout of x is never taken for a partial layout of an output named x-old", async () => {
    const { removeStaleOutputTemps } = await import("../src/build/cleanup.ts");
    const dist = join(base, "dist");
    const aside = join(dist, `.tmp-x-old-${2 ** 30}-ab12`);
    await mkdir(join(aside, "blobs"), { recursive: true });
    await writeFile(join(aside, "oci-layout"), "{}");
    expect(await removeStaleOutputTemps(join(dist, "x-old"))).toEqual([]);
    expect(await removeStaleOutputTemps(join(dist, "x"))).toEqual([]);
    expect(await readFile(join(dist, "x/oci-layout"), "utf8")).toBe("{}");
    expect(await readdir(dist)).toEqual(["x"]);
  });
});
