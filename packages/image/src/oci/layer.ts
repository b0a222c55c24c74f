import { createHash, type Hash } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { createGzip, createZstdCompress, constants as zc } from "node:zlib";
import { errnoCode, ociError } from "./errors.ts";
import { syncDir, tempName } from "./fsutil.ts";
import { checkSymlink, normalizeEntryPath, parentsOf, sortByPathBytes } from "./paths.ts";
import { END_OF_ARCHIVE, entryHeader, padding } from "./tar.ts";
import type { Compression, FsEntry, LayerDescriptor, LayerOptions } from "./types.ts";

export const MEDIA_TYPE_LAYER: Record<Compression, string> = {
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
};

const DEFAULT_LEVEL: Record<Compression, number> = { gzip: 6, zstd: 3 };

/**
 * The gzip header's OS byte. zlib writes the OS it was built for (3 on Unix, 10 on Windows);
 * we always write 255 ("unknown"), as Go's compress/gzip does, so the blob does not depend on
 * where it was made.
 */
const GZIP_OS_UNKNOWN = 0xff;

interface PreparedEntry {
  path: string;
  type: FsEntry["type"];
  mode: number;
  size?: number | undefined;
  linkTarget?: string | undefined;
  open?: FsEntry["open"];
}

function badEntry(message: string, hint: string): Error {
  return ociError("OCI_BAD_ENTRY", message, hint);
}

function prepare(entry: FsEntry): PreparedEntry {
  const path = normalizeEntryPath(entry.path, "layer entry");
  if (path === "")
    throw badEntry(`layer entry ${JSON.stringify(entry.path)} names the image root`, "Drop it.");
  if (!Number.isInteger(entry.mode) || entry.mode < 0) {
    throw badEntry(`${path}: mode ${entry.mode} is not a permission number`, "Use e.g. 0o644.");
  }
  const mode = entry.mode & 0o7777;
  switch (entry.type) {
    case "dir":
      return { path, type: "dir", mode };
    case "file":
      if (!entry.open) throw badEntry(`${path}: a file entry needs open()`, "Give the entry its contents.");
      if (entry.size !== undefined && (!Number.isSafeInteger(entry.size) || entry.size < 0)) {
        throw badEntry(`${path}: size ${entry.size} is not a byte count`, "Fix the size.");
      }
      return { path, type: "file", mode, size: entry.size, open: entry.open };
    case "symlink":
      if (entry.linkTarget === undefined) throw badEntry(`${path}: a symlink needs linkTarget`, "Set it.");
      checkSymlink(path, entry.linkTarget, "layer entry");
      return { path, type: "symlink", mode, linkTarget: entry.linkTarget };
    case "hardlink": {
      if (entry.linkTarget === undefined) throw badEntry(`${path}: a hard link needs linkTarget`, "Set it.");
      const linkTarget = normalizeEntryPath(entry.linkTarget, `hard link ${path}`);
      return { path, type: "hardlink", mode, linkTarget };
    }
    default:
      throw badEntry(
        `${path}: unknown entry type ${JSON.stringify((entry as { type: unknown }).type)}`,
        "Use file, dir, symlink or hardlink.",
      );
  }
}

/**
 * Normalises, validates and orders the entries: bytewise by path (which puts every parent before
 * its children), with missing parents added as 0755 directories.
 */
export async function prepareEntries(
  entries: AsyncIterable<FsEntry> | Iterable<FsEntry>,
): Promise<PreparedEntry[]> {
  const byPath = new Map<string, PreparedEntry>();
  for await (const raw of entries) {
    const entry = prepare(raw);
    if (byPath.has(entry.path)) {
      throw ociError(
        "OCI_DUPLICATE_PATH",
        `${entry.path} appears twice in one layer`,
        "Merge the trees before writing the layer, so each path is given once.",
      );
    }
    byPath.set(entry.path, entry);
  }
  for (const entry of [...byPath.values()]) {
    for (const parent of parentsOf(entry.path)) {
      const existing = byPath.get(parent);
      if (!existing) {
        byPath.set(parent, { path: parent, type: "dir", mode: 0o755 });
      } else if (existing.type === "symlink") {
        throw ociError(
          "OCI_PATH_TRAVERSAL",
          `${entry.path} would be written through the symlink ${parent}`,
          "A layer may not place entries below one of its own symlinks; use the real directory path.",
        );
      } else if (existing.type !== "dir") {
        throw ociError(
          "OCI_PATH_CONFLICT",
          `${entry.path} needs ${parent} to be a directory, but it is a ${existing.type}`,
          "Remove one of the two entries.",
        );
      }
    }
  }
  const sorted = sortByPathBytes([...byPath.values()]);
  const position = new Map(sorted.map((e, i) => [e.path, i]));
  sorted.forEach((entry, i) => {
    if (entry.type !== "hardlink") return;
    const target = byPath.get(entry.linkTarget!);
    if (target?.type !== "file" || position.get(target.path)! > i) {
      throw ociError(
        "OCI_BAD_ENTRY",
        `hard link ${entry.path} -> ${entry.linkTarget} does not point at a regular file earlier in the layer`,
        "Hard links must target a file of the same layer that sorts before the link.",
      );
    }
  });
  return sorted;
}

function sourceChanged(path: string, detail: string, cause?: unknown): Error {
  return ociError(
    "OCI_SOURCE_CHANGED",
    `${path}: ${detail}`,
    "Make sure nothing writes to the tree while the image is written, then retry.",
    cause === undefined ? {} : { cause },
  );
}

async function* fileChunks(entry: PreparedEntry, mtime: number): AsyncGenerator<Buffer> {
  let source: NodeJS.ReadableStream | Uint8Array;
  try {
    source = entry.open!();
  } catch (cause) {
    if (errnoCode(cause) === "ENOENT") throw sourceChanged(entry.path, "the file disappeared", cause);
    throw cause;
  }
  if (source instanceof Uint8Array) {
    if (entry.size !== undefined && entry.size !== source.byteLength) {
      throw sourceChanged(entry.path, `expected ${entry.size} bytes, open() returned ${source.byteLength}`);
    }
    yield* entryHeader(entry, source.byteLength, mtime);
    yield Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    yield padding(source.byteLength);
    return;
  }
  const size = entry.size;
  if (size === undefined) {
    (source as { destroy?: () => void }).destroy?.();
    throw badEntry(`${entry.path}: a streamed file needs its size`, "Set FsEntry.size.");
  }
  yield* entryHeader(entry, size, mtime);
  let seen = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      seen += buf.length;
      if (seen > size)
        throw sourceChanged(entry.path, `grew beyond the ${size} bytes it had when the tree was read`);
      yield buf;
    }
  } catch (cause) {
    if (errnoCode(cause) === "ENOENT") throw sourceChanged(entry.path, "the file disappeared", cause);
    throw cause;
  }
  if (seen !== size)
    throw sourceChanged(entry.path, `shrank from ${size} to ${seen} bytes while it was read`);
  yield padding(size);
}

/** The uncompressed tar, chunk by chunk; file contents are streamed, never buffered whole. */
export async function* tarStream(entries: PreparedEntry[], mtime: number): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    if (entry.type === "file") yield* fileChunks(entry, mtime);
    else yield* entryHeader(entry, 0, mtime);
  }
  yield END_OF_ARCHIVE;
}

function hashing(hash: Hash) {
  return async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      hash.update(chunk);
      yield chunk;
    }
  };
}

/** Input block size for the compressor (see `compress`). */
export const COMPRESS_BLOCK = 64 * 1024;

async function* rechunk(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let block = Buffer.allocUnsafe(COMPRESS_BLOCK);
  let fill = 0;
  for await (const chunk of source) {
    let pos = 0;
    while (pos < chunk.length) {
      const n = Math.min(COMPRESS_BLOCK - fill, chunk.length - pos);
      chunk.copy(block, fill, pos, pos + n);
      fill += n;
      pos += n;
      if (fill === COMPRESS_BLOCK) {
        yield block;
        block = Buffer.allocUnsafe(COMPRESS_BLOCK);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield block.subarray(0, fill);
}

/** Rewrites the variable bytes of a gzip header: MTIME (4..7) to 0 and OS (9) to "unknown". */
function normaliseGzipHeader(chunk: Buffer, offset: number): Buffer {
  if (offset >= 10) return chunk;
  const out = Buffer.from(chunk);
  for (let i = Math.max(offset, 4); i < Math.min(offset + out.length, 8); i++) out[i - offset] = 0;
  if (offset <= 9 && offset + out.length > 9) out[9 - offset] = GZIP_OS_UNKNOWN;
  return out;
}

/**
 * Compresses a byte stream deterministically and hands each output chunk to `onOutput` (which
 * may be slow; memory stays bounded by a few blocks). The input is cut into fixed 64 KiB blocks
 * and written one block at a time, each processed before the next write and before end():
 * Node's streaming zstd output depends on how writes are batched and on whether end()
 * overtakes the last write, so nothing is left to timing. gzip output gets a fixed header.
 */
export async function compress(
  source: AsyncIterable<Buffer>,
  compression: Compression,
  level: number,
  onOutput: (chunk: Buffer) => Promise<void>,
): Promise<void> {
  const compressor =
    compression === "gzip"
      ? createGzip({ level })
      : createZstdCompress({
          params: { [zc.ZSTD_c_compressionLevel]: level, [zc.ZSTD_c_checksumFlag]: 1 },
        });
  const sink = (async () => {
    let offset = 0;
    for await (const raw of compressor as AsyncIterable<Buffer>) {
      const chunk = compression === "gzip" ? normaliseGzipHeader(raw, offset) : raw;
      offset += chunk.length;
      await onOutput(chunk);
    }
  })();
  const sinkStopped = sink.then(() => {
    throw new Error("the compressed stream ended before its input");
  });
  sinkStopped.catch(() => {});
  const writeBlock = (block: Buffer) =>
    new Promise<void>((resolve, reject) => compressor.write(block, (err) => (err ? reject(err) : resolve())));
  try {
    for await (const block of rechunk(source)) await Promise.race([writeBlock(block), sinkStopped]);
    compressor.end();
    await sink;
  } catch (err) {
    compressor.destroy();
    await sink.catch(() => {});
    throw err;
  }
}

export function layerOptions(options: LayerOptions): {
  compression: Compression;
  level: number;
  epoch: number;
} {
  const compression = options.compression ?? "gzip";
  if (compression !== "gzip" && compression !== "zstd") {
    throw ociError(
      "OCI_BAD_OPTION",
      `unknown layer compression ${JSON.stringify(compression)}`,
      'Use "gzip" or "zstd".',
    );
  }
  const level = options.level ?? DEFAULT_LEVEL[compression];
  const [min, max] = compression === "gzip" ? [0, 9] : [1, 19];
  if (!Number.isInteger(level) || level < min || level > max) {
    throw ociError("OCI_BAD_OPTION", `${compression} level ${level} is out of range`, `Use ${min}..${max}.`);
  }
  const epoch = options.sourceDateEpoch;
  if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch > 8 ** 11 - 1) {
    throw ociError(
      "OCI_BAD_EPOCH",
      `SOURCE_DATE_EPOCH ${epoch} is not a usable timestamp`,
      "Use a whole, non-negative number of seconds since 1970-01-01 (e.g. `git log -1 --format=%ct`).",
    );
  }
  return { compression, level, epoch };
}

/**
 * Writes one layer blob into `<out.dir>/sha256/<hex>` (`out.dir` is a layout's `blobs` dir).
 * The tar is produced, hashed (diff_id), compressed, hashed again (digest) and written in one
 * streaming pass (memory stays bounded by a few blocks) through a temp file that is fsynced
 * and renamed into place.
 */
export async function writeLayer(
  entries: AsyncIterable<FsEntry> | FsEntry[],
  out: { dir: string },
  options: LayerOptions,
): Promise<LayerDescriptor> {
  const { compression, level, epoch } = layerOptions(options);
  const prepared = await prepareEntries(entries);
  const shaDir = join(out.dir, "sha256");
  await mkdir(shaDir, { recursive: true });
  const diffHash = createHash("sha256");
  const blobHash = createHash("sha256");
  let size = 0;
  const tmp = tempName(shaDir, "layer");
  const fh = await open(tmp, "wx", 0o644);
  try {
    await compress(hashing(diffHash)(tarStream(prepared, epoch)), compression, level, async (chunk) => {
      blobHash.update(chunk);
      size += chunk.length;
      await fh.write(chunk);
    });
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  const hex = blobHash.digest("hex");
  await rename(tmp, join(shaDir, hex));
  await syncDir(shaDir);
  return {
    digest: `sha256:${hex}`,
    size,
    diffId: `sha256:${diffHash.digest("hex")}`,
    mediaType: MEDIA_TYPE_LAYER[compression],
  };
}
