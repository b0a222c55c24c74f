/**
 * Generates a root filesystem that looks like an extension's (or a small distro's) to a layer
 * writer: many small text files in nested directories, compressible binaries, incompressible
 * blobs (firmware, compressed archives), empty files and relative symlinks. Content comes from a
 * seeded PRNG, so every run compresses the same way.
 */
import { createCipheriv, createHash } from "node:crypto";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { prng } from "../lib.ts";
import type { RootfsInfo } from "../types.ts";

const MiB = 1 << 20;

const WORDS = (
  "the of and to in is for on that with as by this be are from or an it at not which config " +
  "device driver module firmware kernel service socket path option default value enable disable " +
  "return error if else while struct static const void int char unsigned size_t uint32_t " +
  "include define endif license copyright version description usage example network address"
).split(" ");

/** Text-like bytes: words, punctuation and newlines, like docs, scripts and config files. */
function textPool(bytes: number, rand: () => number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const line: string[] = [];
    const words = 3 + Math.floor(rand() * 12);
    for (let w = 0; w < words; w++) line.push(WORDS[Math.floor(rand() * WORDS.length)]!);
    const s = `${rand() < 0.2 ? "  " : ""}${line.join(" ")}${rand() < 0.3 ? ";" : ""}\n`;
    parts.push(s);
    n += s.length;
  }
  return Buffer.from(parts.join("")).subarray(0, bytes);
}

/**
 * Binary-like bytes: mostly zeros and small values with runs and repeats, roughly as compressible
 * as executables and shared libraries (gzip -1 gets about 2.5-3x).
 */
function binaryPool(bytes: number, rand: () => number): Buffer {
  const buf = Buffer.alloc(bytes);
  let i = 0;
  while (i < bytes) {
    const r = rand();
    if (r < 0.25) {
      // a run of zeros (padding, bss, alignment)
      i += 4 + Math.floor(rand() * 60);
    } else if (r < 0.45 && i > 4096) {
      // a repeat of something recent (common instruction sequences, tables)
      const len = 8 + Math.floor(rand() * 120);
      const from = i - 1 - Math.floor(rand() * 4000);
      for (let k = 0; k < len && i < bytes; k++) buf[i++] = buf[from + k]!;
    } else {
      const len = 8 + Math.floor(rand() * 56);
      for (let k = 0; k < len && i < bytes; k++) {
        const x = rand();
        buf[i++] = x < 0.5 ? Math.floor(x * 32) : Math.floor(x * 256);
      }
    }
  }
  return buf;
}

export interface RootfsPlan {
  totalBytes: number;
}

/** Writes the tree under `dir` (which must exist); returns what was written. */
export async function generateRootfs(dir: string, totalBytes: number, seed = 7): Promise<RootfsInfo> {
  const rand = prng(seed);
  const scale = totalBytes / (500 * MiB);
  const info: RootfsInfo = { dir, bytes: 0, files: 0, dirs: 0, symlinks: 0 };
  const made = new Set<string>();
  const mk = async (rel: string) => {
    if (made.has(rel)) return;
    await mkdir(join(dir, rel), { recursive: true });
    for (let p = rel; p && !made.has(p); p = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "") {
      made.add(p);
      info.dirs++;
    }
  };
  const put = async (rel: string, data: Uint8Array, mode: number) => {
    await mk(rel.slice(0, rel.lastIndexOf("/")));
    await writeFile(join(dir, rel), data, { mode });
    info.files++;
    info.bytes += data.byteLength;
  };
  const link = async (rel: string, target: string) => {
    await mk(rel.slice(0, rel.lastIndexOf("/")));
    await symlink(target, join(dir, rel));
    info.symlinks++;
  };

  // A seeded AES-CTR keystream: incompressible, fast, and the same bytes on every run.
  const cipher = createCipheriv(
    "aes-256-ctr",
    createHash("sha256").update(`rootfs-${seed}`).digest(),
    Buffer.alloc(16),
  );
  const noise = (size: number) => cipher.update(Buffer.alloc(size));
  const text = textPool(4 * MiB, rand);
  const binary = binaryPool(8 * MiB, rand);
  const slice = (pool: Buffer, size: number) => {
    const start = Math.floor(rand() * (pool.length - size));
    return pool.subarray(start, start + size);
  };

  // ~12% small text files: docs, configs, scripts, headers (200 B - 8 KiB each).
  const textFiles = Math.round(24_000 * scale);
  for (let i = 0; i < textFiles; i++) {
    const pkg = i % 400;
    const kind = i % 4;
    const base =
      kind === 0
        ? `usr/share/doc/pkg-${pkg}/notes-${i}.txt`
        : kind === 1
          ? `usr/local/etc/pkg-${pkg % 40}/conf.d/${i}.conf`
          : kind === 2
            ? `usr/include/pkg-${pkg % 100}/sub-${i % 7}/h${i}.h`
            : `usr/local/lib/pkg-${pkg % 60}/scripts/s${i}.sh`;
    const size = 200 + Math.floor(rand() * rand() * 8000);
    await put(base, slice(text, size), kind === 3 ? 0o755 : 0o644);
  }

  // ~55% compressible binaries (256 KiB - 16 MiB), with .so version symlinks.
  const binBudget = 275 * MiB * scale;
  for (let n = 0, i = 0; n < binBudget; i++) {
    const size = Math.min(Math.floor(256 * 1024 + rand() * rand() * 16 * MiB), Math.ceil(binBudget - n));
    const data = Buffer.concat(
      Array.from({ length: Math.ceil(size / binary.length) }, () => binary),
    ).subarray(0, size);
    // Shift each file's content so files differ from each other.
    const start = Math.floor(rand() * binary.length);
    const shifted = Buffer.concat([data.subarray(start % size), data.subarray(0, start % size)]);
    if (i % 2 === 0) {
      await put(`usr/local/lib/libbench${i}.so.1.${i % 9}.0`, shifted, 0o755);
      await link(`usr/local/lib/libbench${i}.so.1`, `libbench${i}.so.1.${i % 9}.0`);
      await link(`usr/local/lib/libbench${i}.so`, `libbench${i}.so.1`);
    } else {
      await put(`usr/local/bin/tool-${i}`, shifted, 0o755);
    }
    n += size;
  }

  // ~30% incompressible: firmware and compressed archives (1 - 24 MiB).
  const rndBudget = 150 * MiB * scale;
  for (let n = 0, i = 0; n < rndBudget; i++) {
    const size = Math.min(MiB + Math.floor(rand() * 23 * MiB), Math.ceil(rndBudget - n));
    await put(`usr/lib/firmware/vendor-${i % 5}/blob-${i}.bin`, noise(size), 0o644);
    n += size;
  }

  // Empty files, empty directories, and symlinks of every flavour (relative, to dirs, dangling).
  const extras = Math.round(2_000 * scale);
  for (let i = 0; i < extras; i++) {
    await put(`usr/local/share/markers/m${i}/.keep`, new Uint8Array(0), 0o644);
    await mk(`usr/local/var/empty-${i}`);
    await link(`usr/local/share/links/l${i}`, i % 3 === 0 ? "../markers" : `../../doc/missing-${i}`);
  }
  return info;
}
