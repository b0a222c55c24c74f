import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync, zstdCompressSync } from "node:zlib";
import {
  END_OF_ARCHIVE,
  entryHeader,
  entryHeaderInto,
  OCI_TAR_CODES,
  padding,
  paxRecord,
  readTar,
  type TarEntry,
} from "@talos-ext/spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const readTarEntries = (input: Uint8Array) => readTar(input, { codes: OCI_TAR_CODES });

const run = promisify(execFile);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "oci-tar-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(
  input: Uint8Array,
): Promise<(Omit<TarEntry, "body" | "bytes" | "pax"> & { data: string })[]> {
  const out = [];
  for await (const e of readTarEntries(input)) {
    const { body: _b, bytes, pax: _p, ...rest } = e;
    out.push({ ...rest, data: Buffer.from(await bytes()).toString() });
  }
  return out;
}

/** A hand-made archive; entryHeader does not validate paths, so hostile names can be built. */
function rawTar(
  entries: { path: string; type: "file" | "dir" | "symlink" | "hardlink"; data?: string; link?: string }[],
) {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? "");
    parts.push(
      ...entryHeader({ path: e.path, type: e.type, mode: 0o644, linkTarget: e.link }, data.length, 0),
    );
    if (e.type === "file") parts.push(data, padding(data.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

describe("pax records", () => {
  it("count their own length, also across a digit boundary", () => {
    for (let n = 80; n < 120; n++) {
      const rec = paxRecord("path", "a".repeat(n));
      const len = Number(rec.toString().split(" ")[0]);
      expect(len).toBe(rec.length);
    }
  });

  it("are used for sizes of 8 GiB and more, and only then", () => {
    const small = Buffer.concat(entryHeader({ path: "f", type: "file", mode: 0o644 }, 8 ** 11 - 1, 0));
    expect(small.length).toBe(512);
    const big = Buffer.concat(entryHeader({ path: "f", type: "file", mode: 0o644 }, 8 ** 11, 0));
    expect(big.length).toBe(512 * 3);
    expect(big.subarray(512, 1024).toString()).toContain(`size=${8 ** 11}\n`);
  });
});

describe("entryHeaderInto", () => {
  it("writes the same block as entryHeader, in place, and leaves pax cases to entryHeader", () => {
    const cases = [
      { path: "usr/bin/tool", type: "file" as const, mode: 0o4755 },
      { path: "usr/share", type: "dir" as const, mode: 0o700 },
      { path: "usr/lib/libz.so", type: "symlink" as const, mode: 0o777, linkTarget: "libz.so.1" },
      { path: "usr/lib/b", type: "hardlink" as const, mode: 0o644, linkTarget: "usr/lib/a" },
      { path: `${"n".repeat(98)}é`, type: "file" as const, mode: 0o644 },
      { path: "x".repeat(100), type: "file" as const, mode: 0o644 },
      { path: "é".repeat(50), type: "file" as const, mode: 0o644 },
    ];
    for (const entry of cases) {
      const buf = Buffer.alloc(2048, 0xaa); // stale bytes around and under the header
      expect(entryHeaderInto(buf, 512, entry, 12345, 1_700_000_000)).toBe(true);
      expect(buf.subarray(512, 1024)).toEqual(entryHeader(entry, 12345, 1_700_000_000)[0]);
      expect(buf[511]).toBe(0xaa);
      expect(buf[1024]).toBe(0xaa);
    }
    const buf = Buffer.alloc(1024, 0xaa);
    for (const [entry, size] of [
      [{ path: "x".repeat(101), type: "file" as const, mode: 0o644 }, 1],
      [{ path: "é".repeat(51), type: "file" as const, mode: 0o644 }, 1],
      [{ path: "l", type: "symlink" as const, mode: 0o777, linkTarget: "t".repeat(101) }, 0],
      [{ path: "big", type: "file" as const, mode: 0o644 }, 8 ** 11],
    ] as const) {
      expect(entryHeaderInto(buf, 0, entry, size, 0)).toBe(false);
      expect(entryHeader(entry, size, 0).length).toBeGreaterThan(1);
    }
    expect(buf.every((b) => b === 0xaa)).toBe(true);
  });
});

describe("readTarEntries", () => {
  it("reads archives made by GNU tar in gnu, pax and ustar formats, plain, gzip and zstd", async () => {
    const src = join(dir, "gnu-src");
    const long = `${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(70)}.txt`;
    await mkdir(join(src, long, ".."), { recursive: true });
    await writeFile(join(src, long), "long name\n");
    await writeFile(join(src, "plain.txt"), "plain\n");
    await symlink("plain.txt", join(src, "link"));
    for (const format of ["gnu", "pax", "ustar"]) {
      const tarFile = join(dir, `${format}.tar`);
      const args = ["-C", src, `--format=${format}`, "--owner=0", "--group=0", "-cf", tarFile, "."];
      if (format === "ustar") {
        // ustar cannot hold a 193-byte name in one field, but its prefix field can split it.
        args.splice(args.indexOf("."), 1, "plain.txt", "link", long);
      }
      await run("tar", args);
      const raw = await readFile(tarFile);
      for (const input of [raw, gzipSync(raw), zstdCompressSync(raw)]) {
        const entries = await readAll(input);
        const byPath = new Map(entries.map((e) => [e.path, e]));
        expect(byPath.get(long)?.data).toBe("long name\n");
        expect(byPath.get("plain.txt")).toMatchObject({
          type: "file",
          size: 6,
          data: "plain\n",
          uid: 0,
          gid: 0,
        });
        expect(byPath.get("link")).toMatchObject({ type: "symlink", linkTarget: "plain.txt" });
        expect(entries.some((e) => e.path === "" || e.path.startsWith("."))).toBe(false);
      }
    }
  });

  it("skips data that the caller does not read", async () => {
    const tar = rawTar([
      { path: "a", type: "file", data: "x".repeat(1000) },
      { path: "b", type: "file", data: "bee" },
    ]);
    const seen: string[] = [];
    for await (const e of readTarEntries(tar)) {
      seen.push(e.path);
      if (e.path === "b") expect(Buffer.from(await e.bytes()).toString()).toBe("bee");
    }
    expect(seen).toEqual(["a", "b"]);
  });

  it.each([
    ["an absolute path", [{ path: "/etc/passwd", type: "file" as const, data: "x" }]],
    ["a .. segment", [{ path: "a/../../x", type: "file" as const, data: "x" }]],
    ["a symlink that climbs out", [{ path: "a/l", type: "symlink" as const, link: "../../etc" }]],
    ["a hard link out of the root", [{ path: "h", type: "hardlink" as const, link: "../x" }]],
    [
      "an entry written through a symlink",
      [
        { path: "l", type: "symlink" as const, link: "/etc" },
        { path: "l/passwd", type: "file" as const, data: "x" },
      ],
    ],
  ])("refuses %s with OCI_PATH_TRAVERSAL", async (_what, entries) => {
    await expect(readAll(rawTar(entries))).rejects.toMatchObject({ code: "OCI_PATH_TRAVERSAL" });
  });

  it("allows absolute symlink targets and relative ones that stay inside", async () => {
    const entries = await readAll(
      rawTar([
        { path: "usr/lib/a", type: "symlink", link: "/usr/lib/b" },
        { path: "usr/lib/c", type: "symlink", link: "../../lib/x" },
      ]),
    );
    expect(entries.map((e) => e.linkTarget)).toEqual(["/usr/lib/b", "../../lib/x"]);
  });

  it("reports a bad checksum and a truncated archive as OCI_TAR_CORRUPT", async () => {
    const tar = rawTar([{ path: "a", type: "file", data: "hello" }]);
    const bad = Buffer.from(tar);
    bad[10] = 0x41;
    await expect(readAll(bad)).rejects.toMatchObject({ code: "OCI_TAR_CORRUPT" });
    await expect(readAll(tar.subarray(0, 600))).rejects.toMatchObject({ code: "OCI_TAR_CORRUPT" });
  });
});
