import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { OCI_TAR_CODES, readTar } from "@talos-ext/spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compress, writeLayer } from "./layer.ts";
import { writeOciLayout } from "./layout.ts";
import { collectTree } from "./tree.ts";
import type { FsEntry } from "./types.ts";

const readTarEntries = (input: Uint8Array) => readTar(input, { codes: OCI_TAR_CODES });

const run = promisify(execFile);
const EPOCH = 1_700_000_000;
const LONG = `usr/local/lib/${"very-long-directory-name-".repeat(3)}/${"x".repeat(90)}.so`;

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "oci-layout-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A small rootfs; `variant` changes creation order, mtimes and owners, never content or modes. */
async function makeRootfs(root: string, variant: 0 | 1): Promise<void> {
  const files: [string, string, number][] = [
    ["usr/local/bin/tool", "#!/bin/sh\necho hi\n", 0o755],
    ["usr/local/etc/conf.yaml", "a: 1\n", 0o644],
    ["usr/local/lib/libz.so.1", "elf".repeat(1000), 0o644],
    ["usr/local/share/empty", "", 0o600],
    [LONG, "long\n", 0o644],
  ];
  const ordered = variant === 0 ? files : [...files].reverse();
  for (const [path, data, mode] of ordered) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), data);
    await chmod(join(root, path), mode);
  }
  await mkdir(join(root, "usr/local/empty-dir"), { recursive: true });
  await chmod(join(root, "usr/local/empty-dir"), 0o700);
  await symlink("libz.so.1", join(root, "usr/local/lib/libz.so"));
  await symlink("/usr/local/bin/tool", join(root, "usr/local/bin/tool-abs"));
  const when = variant === 0 ? new Date("2001-01-01") : new Date("2024-06-01");
  for (const [path] of files) await utimes(join(root, path), when, when);
  if (variant === 1 && process.getuid?.() === 0) {
    for (const [path] of files) await chown(join(root, path), 1234, 5678);
  }
}

/** Deterministic incompressible bytes (sha256 in counter mode), so failures reproduce. */
function pseudoRandom(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; i++)
    off += createHash("sha256").update(String(i)).digest().copy(out, off);
  return out;
}

async function sha256File(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

async function listFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    if ((await lstat(join(dir, p))).isDirectory()) out.push(...(await listFiles(dir, p)));
    else out.push(p);
  }
  return out;
}

interface Manifest {
  config: { digest: string };
  layers: { digest: string; mediaType: string; size: number }[];
}

async function readJson<T>(layout: string, digest: string): Promise<T> {
  return JSON.parse(await readFile(join(layout, "blobs", "sha256", digest.slice(7)), "utf8")) as T;
}

async function manifestDigest(layout: string): Promise<string> {
  return JSON.parse(await readFile(join(layout, "index.json"), "utf8")).manifests[0].digest;
}

describe("writeOciLayout", () => {
  it("is byte-identical across trees that differ only in mtimes, owners and creation order", async () => {
    const results = [];
    for (const variant of [0, 1] as const) {
      const root = join(work, `det-root-${variant}`);
      await makeRootfs(root, variant);
      const out = join(work, `det-out-${variant}`);
      results.push(
        await writeOciLayout(out, [{ platform: "linux/amd64", layers: [root], labels: { b: "2", a: "1" } }], {
          sourceDateEpoch: EPOCH,
          refName: "v1.0.0",
        }),
      );
      const files = await listFiles(out);
      expect(files).toContain("oci-layout");
      expect(files).toContain("index.json");
    }
    expect(results[0]).toEqual(results[1]);
    const a = await listFiles(join(work, "det-out-0"));
    expect(a).toEqual(await listFiles(join(work, "det-out-1")));
    for (const f of a) {
      expect(await readFile(join(work, "det-out-1", f))).toEqual(await readFile(join(work, "det-out-0", f)));
      if (f.startsWith("blobs/sha256/"))
        expect(await sha256File(join(work, "det-out-0", f))).toBe(f.slice(13));
    }
  });

  it("writes a layout umoci unpacks with the right modes, links and contents", async () => {
    const root = join(work, "umoci-root");
    await makeRootfs(root, 0);
    const out = join(work, "umoci-out");
    await writeOciLayout(out, [{ platform: "linux/amd64", layers: [root] }], {
      sourceDateEpoch: EPOCH,
      refName: "latest",
    });
    const bundle = join(work, "umoci-bundle");
    await run("umoci", ["unpack", "--rootless", "--image", `${out}:latest`, bundle]);
    const rootfs = join(bundle, "rootfs");
    for (const path of await listFiles(root)) {
      const want = await lstat(join(root, path));
      const got = await lstat(join(rootfs, path));
      expect({ path, mode: got.mode }).toEqual({ path, mode: want.mode });
      if (want.isSymbolicLink())
        expect(await readlink(join(rootfs, path))).toBe(await readlink(join(root, path)));
      else expect(await readFile(join(rootfs, path))).toEqual(await readFile(join(root, path)));
      expect(Math.floor(got.mtimeMs / 1000)).toBe(EPOCH);
    }
    expect((await lstat(join(rootfs, "usr/local/empty-dir"))).mode & 0o7777).toBe(0o700);
  });

  it("is read by skopeo inspect and survives skopeo copy", async () => {
    const root = join(work, "skopeo-root");
    await makeRootfs(root, 0);
    const out = join(work, "skopeo-out");
    const res = await writeOciLayout(
      out,
      [{ platform: "linux/arm64", layers: [root], labels: { "org.opencontainers.image.title": "demo" } }],
      { sourceDateEpoch: EPOCH, refName: "v2" },
    );
    const { stdout } = await run("skopeo", ["inspect", `oci:${out}:v2`]);
    const info = JSON.parse(stdout) as Record<string, unknown>;
    expect(info).toMatchObject({
      Digest: res.digest,
      Architecture: "arm64",
      Os: "linux",
      Labels: { "org.opencontainers.image.title": "demo" },
      Created: new Date(EPOCH * 1000).toISOString().replace(".000Z", "Z"),
    });
    const copy = join(work, "skopeo-copy");
    await run("skopeo", ["copy", "--preserve-digests", `oci:${out}:v2`, `oci:${copy}:v2`]);
    const raw = JSON.parse((await run("skopeo", ["inspect", "--raw", `oci:${copy}:v2`])).stdout) as Manifest;
    const ours = await readJson<Manifest>(out, res.digest);
    expect(raw).toEqual(ours);
  });

  it("writes layers whose tar listing shows owner 0/0 and the epoch mtime", async () => {
    const root = join(work, "tar-root");
    await makeRootfs(root, 1);
    const out = join(work, "tar-out");
    const res = await writeOciLayout(out, [{ platform: "linux/amd64", layers: [root] }], {
      sourceDateEpoch: EPOCH,
    });
    const manifest = await readJson<Manifest>(out, res.digest);
    const blob = join(out, "blobs", "sha256", manifest.layers[0]!.digest.slice(7));
    const { stdout } = await run("tar", ["--numeric-owner", "--full-time", "-tvzf", blob], {
      env: { TZ: "UTC" },
    });
    const lines = stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThan(8);
    for (const line of lines) {
      expect(line).toMatch(/^\S+ 0\/0 +\d+ 2023-11-14 22:13:20 /);
    }
    expect(stdout).toContain(LONG);
    // Fixed gzip header: no mtime, OS byte 255 ("unknown").
    const head = (await readFile(blob)).subarray(0, 10);
    expect([...head.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    expect(head[9]).toBe(0xff);
  });

  it("writes zstd layers the zstd CLI decompresses, with the diff_id of the plain tar", async () => {
    const root = join(work, "zstd-root");
    await makeRootfs(root, 0);
    const out = join(work, "zstd-out");
    const res = await writeOciLayout(out, [{ platform: "linux/amd64", layers: [root] }], {
      sourceDateEpoch: EPOCH,
      compression: "zstd",
    });
    const manifest = await readJson<Manifest>(out, res.digest);
    const layer = manifest.layers[0]!;
    expect(layer.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+zstd");
    const blob = join(out, "blobs", "sha256", layer.digest.slice(7));
    const plain = join(work, "zstd-layer.tar");
    await run("zstd", ["-q", "-d", "-f", blob, "-o", plain]);
    const config = await readJson<{ rootfs: { diff_ids: string[] } }>(out, manifest.config.digest);
    expect(config.rootfs.diff_ids).toEqual([`sha256:${await sha256File(plain)}`]);
    const { stdout } = await run("tar", ["-tf", plain]);
    expect(stdout).toContain("usr/local/lib/libz.so.1");
  });

  it("writes a multi-platform index whose manifests carry their platforms", async () => {
    const amd = join(work, "multi-amd64");
    const arm = join(work, "multi-arm64");
    await mkdir(amd);
    await mkdir(arm);
    await writeFile(join(amd, "arch"), "amd64\n");
    await writeFile(join(arm, "arch"), "arm64\n");
    const out = join(work, "multi-out");
    const res = await writeOciLayout(
      out,
      [
        { platform: "linux/amd64", layers: [amd], labels: { l: "x" } },
        { platform: "linux/arm64", layers: [arm], labels: { l: "x" } },
      ],
      { sourceDateEpoch: EPOCH, refName: "multi", annotations: { "org.opencontainers.image.version": "1" } },
    );
    expect(res.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    const top = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
    expect(top.manifests).toEqual([
      {
        mediaType: "application/vnd.oci.image.index.v1+json",
        digest: res.digest,
        size: expect.any(Number),
        annotations: { "org.opencontainers.image.ref.name": "multi" },
      },
    ]);
    const index = await readJson<{
      manifests: { platform: unknown; digest: string }[];
      annotations: unknown;
    }>(out, res.digest);
    expect(index.annotations).toEqual({ "org.opencontainers.image.version": "1" });
    expect(index.manifests.map((m) => m.platform)).toEqual([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux" },
    ]);
    for (const [arch, content] of [
      ["amd64", "amd64\n"],
      ["arm64", "arm64\n"],
    ]) {
      const { stdout } = await run("skopeo", ["--override-arch", arch!, "inspect", `oci:${out}:multi`]);
      expect(JSON.parse(stdout)).toMatchObject({ Architecture: arch });
      const bundle = join(work, `multi-bundle-${arch}`);
      // umoci does not pick a platform out of an index, so unpack the per-arch manifest by copying it out.
      const single = join(work, `multi-single-${arch}`);
      await run("skopeo", ["--override-arch", arch!, "copy", `oci:${out}:multi`, `oci:${single}:x`]);
      await run("umoci", ["unpack", "--rootless", "--image", `${single}:x`, bundle]);
      expect(await readFile(join(bundle, "rootfs", "arch"), "utf8")).toBe(content);
    }
  });

  it("replaces an earlier layout atomically and never touches a directory that is not a layout", async () => {
    const out = join(work, "replace-out");
    const one: FsEntry[] = [{ path: "v", type: "file", mode: 0o644, open: () => Buffer.from("1") }];
    const two: FsEntry[] = [{ path: "v", type: "file", mode: 0o644, open: () => Buffer.from("2") }];
    const first = await writeOciLayout(out, [{ platform: "linux/amd64", layers: [one] }], {
      sourceDateEpoch: 0,
    });
    const before = await readFile(join(out, "index.json"));
    // A failing write (a file that shrinks) leaves the old layout as it was and no temp dirs behind.
    const shrinking: FsEntry[] = [
      { path: "v", type: "file", mode: 0o644, size: 5, open: () => Buffer.from("2") },
    ];
    await expect(
      writeOciLayout(out, [{ platform: "linux/amd64", layers: [shrinking] }], { sourceDateEpoch: 0 }),
    ).rejects.toMatchObject({ code: "OCI_SOURCE_CHANGED" });
    expect(await readFile(join(out, "index.json"))).toEqual(before);
    const second = await writeOciLayout(out, [{ platform: "linux/amd64", layers: [two] }], {
      sourceDateEpoch: 0,
    });
    expect(second.digest).not.toBe(first.digest);
    expect(JSON.parse(await readFile(join(out, "index.json"), "utf8")).manifests[0].digest).toBe(
      second.digest,
    );
    expect((await readdir(work)).filter((n) => n.includes(".tmp-"))).toEqual([]);

    const notLayout = join(work, "precious");
    await mkdir(notLayout);
    await writeFile(join(notLayout, "thesis.txt"), "do not delete");
    await expect(
      writeOciLayout(notLayout, [{ platform: "linux/amd64", layers: [one] }], { sourceDateEpoch: 0 }),
    ).rejects.toMatchObject({ code: "OCI_OUTPUT_NOT_LAYOUT" });
    expect(await readdir(notLayout)).toEqual(["thesis.txt"]);
  });

  it("refuses a layout that also holds a user's file instead of replacing it wholesale", async () => {
    const one = join(work, "mixed-root");
    await mkdir(join(one, "usr"), { recursive: true });
    await writeFile(join(one, "usr/x"), "x");
    const out = join(work, "mixed-out");
    await writeOciLayout(out, [{ platform: "linux/amd64", layers: [one] }], { sourceDateEpoch: 0 });
    await writeFile(join(out, "notes.md"), "mine");
    await expect(
      writeOciLayout(out, [{ platform: "linux/amd64", layers: [one] }], { sourceDateEpoch: 0 }),
    ).rejects.toMatchObject({ code: "OCI_OUTPUT_NOT_LAYOUT", location: { file: out } });
    expect(await readFile(join(out, "notes.md"), "utf8")).toBe("mine");
    expect((await readdir(out)).sort()).toEqual(["blobs", "index.json", "notes.md", "oci-layout"]);
  });

  it("streams a directory into the same layer as writeLayer(collectTree(dir)), in byte order", async () => {
    const root = join(work, "order-root");
    // Names whose byte order differs from a depth-first walk ("a" < "a-b" < "a/x" < "a0") and from
    // UTF-16 order (an astral character sorts after U+E000 in UTF-8, before it in UTF-16).
    const files = [
      "a/x",
      "a/y/z",
      "a-b",
      "a0",
      "a.c/d",
      "b",
      "\u00e9t\u00e9",
      "\ue000",
      "\u{1f600}",
      "\u{1f600}\u{1f600}/in",
    ];
    for (const f of files) {
      await mkdir(join(root, f, ".."), { recursive: true });
      await writeFile(join(root, f), f);
    }
    await mkdir(join(root, "a/empty"), { recursive: true });
    await symlink("../a0", join(root, "a/link"));
    await writeFile(join(root, "a/big"), pseudoRandom(3_000_000));
    for (const compression of ["gzip", "zstd"] as const) {
      const options = { sourceDateEpoch: EPOCH, compression };
      const dir = await mkdtemp(join(work, "order-blobs-"));
      const viaTree = await writeLayer(await collectTree(root), { dir }, options);
      const out = join(work, `order-out-${compression}`);
      await writeOciLayout(out, [{ platform: "linux/amd64", layers: [root] }], options);
      const manifest = await readJson<Manifest>(out, await manifestDigest(out));
      expect(manifest.layers[0]!.digest).toBe(viaTree.digest);
      const paths: string[] = [];
      for await (const e of readTarEntries(await readFile(join(dir, "sha256", viaTree.digest.slice(7))))) {
        paths.push(e.path);
      }
      expect(paths).toContain("\u{1f600}\u{1f600}/in");
      expect(paths).toEqual(
        [...paths].sort((x, y) => Buffer.compare(Buffer.from(x, "utf8"), Buffer.from(y, "utf8"))),
      );
    }
  });

  it("refuses bad platforms, duplicate platforms, bad refs and bad epochs", async () => {
    const out = join(work, "bad-out");
    const layers: FsEntry[][] = [[]];
    await expect(
      writeOciLayout(out, [{ platform: "linux/riscv64" as "linux/amd64", layers }], { sourceDateEpoch: 0 }),
    ).rejects.toMatchObject({ code: "OCI_PLATFORM_INVALID" });
    await expect(
      writeOciLayout(
        out,
        [
          { platform: "linux/amd64", layers },
          { platform: "linux/amd64", layers },
        ],
        { sourceDateEpoch: 0 },
      ),
    ).rejects.toMatchObject({ code: "OCI_DUPLICATE_PLATFORM" });
    await expect(
      writeOciLayout(out, [{ platform: "linux/amd64", layers }], { sourceDateEpoch: 0, refName: "bad ref" }),
    ).rejects.toMatchObject({ code: "OCI_BAD_REF" });
    await expect(
      writeOciLayout(out, [{ platform: "linux/amd64", layers }], { sourceDateEpoch: -1 }),
    ).rejects.toMatchObject({ code: "OCI_BAD_EPOCH" });
    await expect(
      writeOciLayout(out, [{ platform: "linux/amd64", layers }], { sourceDateEpoch: 1.5 }),
    ).rejects.toMatchObject({ code: "OCI_BAD_EPOCH" });
  });
});

describe("writeLayer", () => {
  const file = (path: string, data = "x"): FsEntry => ({
    path,
    type: "file",
    mode: 0o644,
    open: () => Buffer.from(data),
  });

  async function layerPaths(entries: FsEntry[]): Promise<{ path: string; type: string; mode: number }[]> {
    const dir = await mkdtemp(join(work, "blobs-"));
    const res = await writeLayer(entries, { dir }, { sourceDateEpoch: EPOCH });
    const out = [];
    for await (const e of readTarEntries(await readFile(join(dir, "sha256", res.digest.slice(7))))) {
      out.push({ path: e.path, type: e.type, mode: e.mode });
    }
    return out;
  }

  it("sorts bytewise and adds missing parents as 0755 directories", async () => {
    const got = await layerPaths([
      file("b/z"),
      file("a-b"),
      file("a/c/d"),
      { path: "b", type: "dir", mode: 0o700 },
    ]);
    expect(got).toEqual([
      { path: "a", type: "dir", mode: 0o755 },
      { path: "a-b", type: "file", mode: 0o644 },
      { path: "a/c", type: "dir", mode: 0o755 },
      { path: "a/c/d", type: "file", mode: 0o644 },
      { path: "b", type: "dir", mode: 0o700 },
      { path: "b/z", type: "file", mode: 0o644 },
    ]);
  });

  it.each([
    ["a .. path", [file("a/../../etc/passwd")]],
    ["an absolute path", [file("/etc/passwd")]],
    [
      "an escaping symlink",
      [{ path: "usr/l", type: "symlink" as const, mode: 0o777, linkTarget: "../../x" }],
    ],
    [
      "an entry below a symlink",
      [{ path: "usr", type: "symlink" as const, mode: 0o777, linkTarget: "/" }, file("usr/x")],
    ],
  ])("refuses %s with OCI_PATH_TRAVERSAL", async (_what, entries) => {
    await expect(
      writeLayer(entries, { dir: join(work, "never") }, { sourceDateEpoch: 0 }),
    ).rejects.toMatchObject({
      code: "OCI_PATH_TRAVERSAL",
    });
  });

  it("refuses a rootfs with an escaping symlink", async () => {
    const root = join(work, "escape-root");
    await mkdir(join(root, "etc"), { recursive: true });
    await symlink("../../../etc/shadow", join(root, "etc/shadow"));
    const out = join(work, "escape-out");
    await expect(
      writeOciLayout(out, [{ platform: "linux/amd64", layers: [root] }], { sourceDateEpoch: 0 }),
    ).rejects.toMatchObject({ code: "OCI_PATH_TRAVERSAL" });
  });

  it.each(["gzip", "zstd"] as const)(
    "%s compression does not depend on chunking or timing",
    async (compression) => {
      const data = Buffer.concat([
        pseudoRandom(3_000_000),
        Buffer.alloc(2_000_000, 7),
        Buffer.from("abc".repeat(1_000_000)),
      ]);
      const digests = new Set<string>();
      for (const size of [1000, 65_536, 1 << 20]) {
        for (const slow of [false, true]) {
          const source = (async function* () {
            for (let i = 0; i < data.length; i += size) {
              if (slow) await new Promise((r) => setImmediate(r));
              yield data.subarray(i, i + size);
            }
            // A source that lingers after its last chunk: end() comes late, not with the last write.
            if (slow) await new Promise((r) => setTimeout(r, 20));
          })();
          const hash = createHash("sha256");
          await compress(source, compression, compression === "gzip" ? 6 : 3, async (chunk) => {
            hash.update(chunk);
          });
          digests.add(hash.digest("hex"));
        }
      }
      expect(digests.size).toBe(1);
    },
  );

  it.each(["gzip", "zstd"] as const)(
    "%s layers do not depend on how file reads are chunked or how fast they arrive",
    async (compression) => {
      // Several MB of mixed content: zstd's streaming output in Node depends on write sizes and
      // on whether end() races the last write, which small inputs do not show.
      const data = Buffer.concat([
        pseudoRandom(3_000_000),
        Buffer.alloc(2_000_000, 7),
        Buffer.from("abc".repeat(1_000_000)),
      ]);
      const digests = new Set<string>();
      // collectTree's entries are read straight from the file by the writer (not through open()).
      const onDisk = join(work, `chunks-src-${compression}`);
      await mkdir(onDisk, { recursive: true });
      await writeFile(join(onDisk, "f"), data);
      const [fromTree] = await collectTree(onDisk);
      const sources: (() => NodeJS.ReadableStream | Uint8Array)[] = [() => data, fromTree!.open!];
      for (const size of [1000, 4096, 65_536, 1 << 20]) {
        for (const slow of [false, true]) {
          sources.push(() =>
            Readable.from(
              (async function* () {
                for (let i = 0; i < data.length; i += size) {
                  if (slow) await new Promise((r) => setImmediate(r));
                  yield data.subarray(i, i + size);
                }
              })(),
            ),
          );
        }
      }
      for (const open of sources) {
        const entries: FsEntry[] = [{ path: "f", type: "file", mode: 0o644, size: data.length, open }];
        const dir = await mkdtemp(join(work, "chunks-"));
        digests.add((await writeLayer(entries, { dir }, { sourceDateEpoch: 0, compression })).digest);
        await rm(dir, { recursive: true });
      }
      // The directory itself, streamed into a layout while it is walked.
      const layout = join(work, `chunks-layout-${compression}`);
      await writeOciLayout(layout, [{ platform: "linux/amd64", layers: [onDisk] }], {
        sourceDateEpoch: 0,
        compression,
      });
      digests.add((await readJson<Manifest>(layout, await manifestDigest(layout))).layers[0]!.digest);
      expect(digests.size).toBe(1);
    },
  );

  it("refuses duplicates and files used as directories", async () => {
    await expect(
      writeLayer([file("a"), file("./a")], { dir: work }, { sourceDateEpoch: 0 }),
    ).rejects.toMatchObject({
      code: "OCI_DUPLICATE_PATH",
    });
    await expect(
      writeLayer([file("a"), file("a/b")], { dir: work }, { sourceDateEpoch: 0 }),
    ).rejects.toMatchObject({
      code: "OCI_PATH_CONFLICT",
    });
  });

  it("reports files that change or vanish while the layer is written as OCI_SOURCE_CHANGED", async () => {
    const root = join(work, "changing");
    await mkdir(root);
    await writeFile(join(root, "grows"), "12345");
    const grows = await collectTree(root);
    await writeFile(join(root, "grows"), "1234567890");
    const dir = join(work, "changing-blobs");
    await expect(writeLayer(grows, { dir }, { sourceDateEpoch: 0 })).rejects.toMatchObject({
      code: "OCI_SOURCE_CHANGED",
    });
    await writeFile(join(root, "grows"), "12345");
    const shrinks = await collectTree(root);
    await writeFile(join(root, "grows"), "123");
    await expect(writeLayer(shrinks, { dir }, { sourceDateEpoch: 0 })).rejects.toMatchObject({
      code: "OCI_SOURCE_CHANGED",
    });
    const vanishing = await collectTree(root);
    await rm(join(root, "grows"));
    await expect(writeLayer(vanishing, { dir }, { sourceDateEpoch: 0 })).rejects.toMatchObject({
      code: "OCI_SOURCE_CHANGED",
    });
    // Nothing half-written is left in the blobs dir.
    expect(await readdir(join(dir, "sha256"))).toEqual([]);
  });

  it("stores hard links as links only when asked", async () => {
    const root = join(work, "hardlinks");
    await mkdir(root);
    await writeFile(join(root, "b"), "shared");
    await link(join(root, "b"), join(root, "a"));
    const plain = await collectTree(root);
    expect(plain.map((e) => e.type)).toEqual(["file", "file"]);
    const linked = await collectTree(root, { hardlinks: true });
    expect(linked.map((e) => [e.path, e.type, e.linkTarget])).toEqual([
      ["a", "file", undefined],
      ["b", "hardlink", "a"],
    ]);
    const dir = await mkdtemp(join(work, "hl-"));
    const res = await writeLayer(linked, { dir }, { sourceDateEpoch: 0 });
    const entries = [];
    for await (const e of readTarEntries(await readFile(join(dir, "sha256", res.digest.slice(7))))) {
      entries.push({
        path: e.path,
        type: e.type,
        linkTarget: e.linkTarget,
        data: Buffer.from(await e.bytes()).toString(),
      });
    }
    expect(entries).toEqual([
      { path: "a", type: "file", linkTarget: undefined, data: "shared" },
      { path: "b", type: "hardlink", linkTarget: "a", data: "" },
    ]);
  });

  it("places a tree under a prefix and a single file by its name", async () => {
    const root = join(work, "prefixed");
    await mkdir(root);
    await writeFile(join(root, "manifest.yaml"), "m");
    expect((await collectTree(root, { prefix: "usr/share" })).map((e) => e.path)).toEqual([
      "usr/share/manifest.yaml",
    ]);
    expect((await collectTree(join(root, "manifest.yaml"))).map((e) => e.path)).toEqual(["manifest.yaml"]);
  });
});
