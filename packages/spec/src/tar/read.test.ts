import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { header, writeTar } from "../../test/support/tar-writer.ts";
import { TalosExtError } from "../errors.ts";
import { normalizeArchivePath } from "./paths.ts";
import { readTar, type TarEntry } from "./read.ts";

type Read = TarEntry & { data?: Uint8Array };

async function all(input: Parameters<typeof readTar>[0], keep = true): Promise<Read[]> {
  const out: Read[] = [];
  for await (const e of readTar(input, { source: "t.tar" })) {
    const r: Read = e;
    if (keep && e.type === "file" && !e.sparse && e.size > 0) r.data = await e.bytes();
    out.push(r);
  }
  return out;
}

async function failure(input: Parameters<typeof readTar>[0]): Promise<TalosExtError> {
  try {
    await all(input);
  } catch (e) {
    expect(e).toBeInstanceOf(TalosExtError);
    return e as TalosExtError;
  }
  throw new Error("expected readTar to fail");
}

const text = (d?: Uint8Array) => new TextDecoder().decode(d);

/** Recomputes the checksum of every block that carries a ustar magic. */
function fixChecksums(tar: Uint8Array): Uint8Array {
  for (let at = 0; at + 512 <= tar.length; at += 512) {
    const block = tar.subarray(at, at + 512);
    if (text(block.subarray(257, 262)) !== "ustar") continue;
    block.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of block) sum += b;
    block.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
  }
  return tar;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "talos-ext-tar-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readTar", () => {
  test("reads ustar members: types, modes, link targets, data and offsets", async () => {
    const tar = writeTar([
      { name: "./rootfs/", type: "5" },
      { name: "./rootfs/usr/local/bin/x", data: "hello", mode: 0o4755 },
      { name: "rootfs/link", type: "2", linkname: "/usr/local/bin/x" },
      { name: "rootfs/hard", type: "1", linkname: "./rootfs/usr/local/bin/x" },
      { name: "rootfs/dev", type: "3" },
      { name: "rootfs/pipe", type: "6" },
    ]);
    const entries = await all(tar);
    expect(entries.map((e) => [e.path, e.type])).toEqual([
      ["rootfs", "dir"],
      ["rootfs/usr/local/bin/x", "file"],
      ["rootfs/link", "symlink"],
      ["rootfs/hard", "hardlink"],
      ["rootfs/dev", "char"],
      ["rootfs/pipe", "fifo"],
    ]);
    const file = entries[1]!;
    expect(file.mode).toBe(0o4755);
    expect(file.size).toBe(5);
    expect(text(file.data)).toBe("hello");
    expect(text(tar.subarray(file.dataOffset, file.dataOffset + file.size))).toBe("hello");
    expect(entries[2]!.linkTarget).toBe("/usr/local/bin/x");
    expect(entries[3]!.linkTarget).toBe("rootfs/usr/local/bin/x");
  });

  test("ustar prefix, pax path/linkpath/size and GNU long names override the header name", async () => {
    const long = `rootfs/${"d".repeat(120)}/${"f".repeat(120)}`;
    const prefixed = new Uint8Array(1024 + 512);
    prefixed.set(header({ name: "file", type: "0", mode: 0o644, size: 0, prefix: "rootfs/usr/local" }));
    const entries = await all(
      Buffer.concat([
        prefixed.subarray(0, 512),
        writeTar(
          [
            { name: long, data: "pax", pax: { path: long } },
            { name: "short", type: "2", pax: { linkpath: `/${"l".repeat(200)}` } },
            { name: long.replace("rootfs", "rootfs2"), data: "gnu", gnuLongName: true },
            { name: "sized", data: "abcdef", size: 3, pax: { size: "6" } },
          ],
          { trailer: true },
        ),
      ]),
    );
    expect(entries.map((e) => e.path)).toEqual([
      "rootfs/usr/local/file",
      long,
      "short",
      long.replace("rootfs", "rootfs2"),
      "sized",
    ]);
    expect(entries[2]!.linkTarget).toBe(`/${"l".repeat(200)}`);
    expect(text(entries[3]!.data)).toBe("gnu");
    expect(text(entries[4]!.data)).toBe("abcdef");
  });

  test("reads gzip and zstd compressed archives, and chunked streams", async () => {
    const tar = writeTar([{ name: "manifest.yaml", data: "version: v1alpha1\n" }]);
    for (const input of [gzipSync(tar), zstdCompressSync(tar)]) {
      const [e] = await all(input);
      expect(text(e!.data)).toBe("version: v1alpha1\n");
    }
    const chunks = function* () {
      for (let i = 0; i < tar.length; i += 7) yield tar.subarray(i, i + 7);
    };
    const [e] = await all(chunks());
    expect(text(e!.data)).toBe("version: v1alpha1\n");
  });

  test("reads what GNU tar writes (long names, symlinks, gzip)", async () => {
    const src = join(dir, "gnu-src");
    const deep = join(src, "rootfs", "usr", "local", "lib", "x".repeat(110));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, "y".repeat(110)), "deep");
    await symlink("../lib", join(src, "rootfs", "usr", "local", "l"));
    for (const [format, flags] of [
      ["gnu", ["-czf"]],
      ["posix", ["-czf"]],
    ] as const) {
      const out = join(dir, `gnu-${format}.tar.gz`);
      execFileSync("tar", [`--format=${format}`, "-C", src, ...flags, out, "."]);
      const entries = await all(await readFile(out));
      const deepFile = entries.find((e) => e.path.endsWith("y".repeat(110)));
      expect(deepFile?.path).toBe(`rootfs/usr/local/lib/${"x".repeat(110)}/${"y".repeat(110)}`);
      expect(text(deepFile?.data)).toBe("deep");
      expect(entries.find((e) => e.path === "rootfs/usr/local/l")?.linkTarget).toBe("../lib");
    }
  });

  test("refuses entries that escape the root with EXT_PATH_TRAVERSAL", async () => {
    for (const name of ["../etc/passwd", "/etc/passwd", "a/../../b"]) {
      const e = await failure(writeTar([{ name, data: "x" }]));
      expect(e.code).toBe("EXT_PATH_TRAVERSAL");
      expect(e.location?.file).toBe("t.tar");
    }
    expect((await failure(writeTar([{ name: "ok", type: "1", linkname: "../../x" }]))).code).toBe(
      "EXT_PATH_TRAVERSAL",
    );
    expect(normalizeArchivePath("./a/./b/../c/")).toBe("a/c");
  });

  test("reports corrupt, truncated and unsupported archives with stable codes", async () => {
    const good = writeTar([{ name: "f", data: "x".repeat(600) }]);
    const badSum = good.slice();
    badSum[0] = 0x41;
    expect((await failure(badSum)).code).toBe("EXT_TAR_INVALID");
    expect((await failure(good.subarray(0, 700))).code).toBe("EXT_TAR_INVALID");
    expect((await failure(gzipSync(good).subarray(0, 20))).code).toBe("EXT_TAR_INVALID");
    const xz = new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]);
    expect((await failure(xz)).code).toBe("EXT_TAR_UNSUPPORTED");
    // An archive without the end-of-archive trailer is accepted, like Go's archive/tar, even when
    // it stops right after the last entry's data (umoci 0.4 writes such layers)...
    expect(await all(writeTar([{ name: "f", data: "x" }], { trailer: false }))).toHaveLength(1);
    expect(await all(writeTar([{ name: "f", data: "x" }], { trailer: false }).subarray(0, 513))).toHaveLength(
      1,
    );
    // ...but not when it stops inside the padding or the data.
    expect(
      (await failure(writeTar([{ name: "f", data: "x" }], { trailer: false }).subarray(0, 514))).code,
    ).toBe("EXT_TAR_INVALID");
  });

  test("never throws anything but TalosExtError on arbitrary bytes", async () => {
    const valid = writeTar([
      { name: "manifest.yaml", data: "version: v1alpha1\n", pax: { path: "manifest.yaml" } },
      { name: "rootfs/a", type: "2", linkname: "b", gnuLongName: true },
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }),
          // Mutations of a valid archive reach far deeper into the parser than noise does.
          fc
            .array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), {
              maxLength: 12,
            })
            .map((edits) => {
              const copy = valid.slice();
              for (const [i, b] of edits) copy[i] = b;
              return copy;
            }),
          // Same, with header checksums repaired so the mutations reach the field parsers.
          fc
            .array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), {
              maxLength: 6,
            })
            .map((edits) => {
              const copy = valid.slice();
              for (const [i, b] of edits) copy[i] = b;
              return fixChecksums(copy);
            }),
          fc.nat({ max: valid.length }).map((n) => valid.subarray(0, n)),
          fc.uint8Array({ maxLength: 200 }).map((b) => gzipSync(b)),
        ),
        async (bytes) => {
          try {
            await all(bytes);
          } catch (e) {
            if (!(e instanceof TalosExtError)) throw e;
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
