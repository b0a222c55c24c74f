import { createHash } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { END_OF_ARCHIVE, paddingSize } from "@talos-ext/spec";
import { BlockWriter } from "./blocks.ts";
import { createCompressor, type OutputSink } from "./compress.ts";
import { errnoCode, ociError } from "./errors.ts";
import { FileAppender, syncDir, tempName } from "./fsutil.ts";
import { checkSymlink, normalizeEntryPath, parentsOf, sortByPathBytes } from "./paths.ts";
import { sourcePathOf } from "./source.ts";
import { treeEntries } from "./tree.ts";
import type { FsEntry, LayerCompression, LayerDescriptor, LayerOptions } from "./types.ts";

/** The OCI layer media type for each compression. */
export const MEDIA_TYPE_LAYER: Record<LayerCompression, string> = {
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
};

const DEFAULT_LEVEL: Record<LayerCompression, number> = { gzip: 6, zstd: 3 };

interface PreparedEntry {
  path: string;
  type: FsEntry["type"];
  mode: number;
  size?: number | undefined;
  linkTarget?: string | undefined;
  open?: FsEntry["open"];
  /** The file behind an `open` made by `collectTree`, read directly. */
  source?: string | undefined;
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
      return {
        path,
        type: "file",
        mode,
        size: entry.size,
        open: entry.open,
        // Direct reads need the size up front; collectTree always records it.
        source: entry.size === undefined ? undefined : sourcePathOf(entry.open),
      };
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

const SHRANK = (path: string, size: number, seen: number) =>
  sourceChanged(path, `shrank from ${size} to ${seen} bytes while it was read`);
const GREW = (path: string, size: number) =>
  sourceChanged(path, `grew beyond the ${size} bytes it had when the tree was read`);

function openFailed(path: string, cause: unknown): Error {
  const code = errnoCode(cause);
  if (code === "ENOENT" || code === "ENOTDIR") return sourceChanged(path, "the file disappeared", cause);
  if (code === "EISDIR") return sourceChanged(path, "is no longer a regular file", cause);
  return cause as Error;
}

/**
 * A file `collectTree` found, read straight into the tar blocks with synchronous reads (see
 * `BlockWriter.readFrom`). Exactly `size` bytes must be there, no fewer and no more.
 */
async function copyFile(out: BlockWriter, entry: PreparedEntry, file: string): Promise<void> {
  const size = entry.size!;
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (cause) {
    throw openFailed(entry.path, cause);
  }
  try {
    let left = size;
    for (;;) {
      if (out.room === 0) {
        const wait = out.flushFull();
        if (wait) await wait;
      }
      // One byte more than expected: a file that grew shows it without an extra read.
      const ask = Math.min(left + 1, out.room);
      let n: number;
      try {
        n = out.readFrom(fd, ask);
      } catch (cause) {
        throw openFailed(entry.path, cause);
      }
      if (n > left) throw GREW(entry.path, size);
      left -= n;
      if (n === 0) {
        if (left > 0) throw SHRANK(entry.path, size, size - left);
        break;
      }
      // A short read of a regular file means its end: no need to ask again.
      if (left === 0 && n < ask) break;
    }
  } finally {
    closeSync(fd);
  }
}

/** A file whose contents come from the caller's `open()`: a byte array or a stream. */
async function copyOpened(out: BlockWriter, entry: PreparedEntry, mtime: number): Promise<void> {
  let source: NodeJS.ReadableStream | Uint8Array;
  try {
    source = entry.open!();
  } catch (cause) {
    throw openFailed(entry.path, cause);
  }
  if (source instanceof Uint8Array) {
    if (entry.size !== undefined && entry.size !== source.byteLength) {
      throw sourceChanged(entry.path, `expected ${entry.size} bytes, open() returned ${source.byteLength}`);
    }
    await out.header(entry, source.byteLength, mtime);
    await out.put(source);
    await out.zeros(paddingSize(source.byteLength));
    return;
  }
  const size = entry.size;
  if (size === undefined) {
    (source as { destroy?: () => void }).destroy?.();
    throw badEntry(`${entry.path}: a streamed file needs its size`, "Set FsEntry.size.");
  }
  await out.header(entry, size, mtime);
  let seen = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      seen += buf.length;
      if (seen > size) throw GREW(entry.path, size);
      const wait = out.put(buf);
      if (wait) await wait;
    }
  } catch (cause) {
    (source as { destroy?: () => void }).destroy?.();
    if (errnoCode(cause) === "ENOENT") throw sourceChanged(entry.path, "the file disappeared", cause);
    throw cause;
  }
  if (seen !== size) throw SHRANK(entry.path, size, seen);
  await out.zeros(paddingSize(size));
}

/** Writes the whole uncompressed tar into `out`, entry by entry, and flushes its last block. */
async function writeTar(out: BlockWriter, entries: Iterable<PreparedEntry>, mtime: number): Promise<void> {
  for (const entry of entries) {
    const pause = out.pause();
    if (pause) await pause;
    if (entry.type !== "file") {
      const wait = out.header(entry, 0, mtime);
      if (wait) await wait;
    } else if (entry.source !== undefined) {
      const wait = out.header(entry, entry.size!, mtime);
      if (wait) await wait;
      await copyFile(out, entry, entry.source);
      const pad = out.zeros(paddingSize(entry.size!));
      if (pad) await pad;
    } else {
      await copyOpened(out, entry, mtime);
    }
  }
  await out.put(END_OF_ARCHIVE);
  await out.end();
}

/**
 * Runs `produce` (which writes the uncompressed stream into a BlockWriter) through the
 * compressor; `onBlock` sees every uncompressed block first (for the diff_id), and `output`
 * every compressed piece, in order.
 */
async function compressBlocks(
  produce: (out: BlockWriter) => Promise<void>,
  compression: LayerCompression,
  level: number,
  onBlock: (block: Buffer) => void,
  output: OutputSink,
): Promise<void> {
  const compressor = createCompressor(compression, { level, output });
  const writer = new BlockWriter(
    compressor.blockSize,
    () => compressor.nextBlock(),
    (block) => {
      onBlock(block);
      return compressor.write(block);
    },
  );
  try {
    await produce(writer);
    await compressor.end();
  } catch (err) {
    compressor.destroy();
    throw err;
  }
}

/**
 * Compresses a byte stream deterministically and hands each output chunk to `onOutput` (which
 * may be slow; memory stays bounded by a few blocks). The output depends on the bytes only:
 * they are cut into fixed-size blocks whatever sizes the source yields (see
 * `compress.ts`).
 */
export async function compress(
  source: AsyncIterable<Buffer>,
  compression: LayerCompression,
  level: number,
  onOutput: (chunk: Buffer) => Promise<void>,
): Promise<void> {
  await compressBlocks(
    async (out) => {
      for await (const chunk of source) {
        const wait = out.put(chunk);
        if (wait) await wait;
      }
      await out.end();
    },
    compression,
    level,
    () => {},
    onOutput,
  );
}

export function layerOptions(options: LayerOptions): {
  compression: LayerCompression;
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
  out: {
    /** The layout's `blobs` directory; the blob lands in `<dir>/sha256/<hex>`. */
    dir: string;
  },
  options: LayerOptions,
): Promise<LayerDescriptor> {
  const settings = layerOptions(options);
  return writeBlob(await prepareEntries(entries), out, settings);
}

/**
 * The layer of a directory: the same bytes as `writeLayer(await collectTree(rootDir), ...)`, but
 * the tree is read as the tar is written, so compression starts at once.
 */
export async function writeTreeLayer(
  rootDir: string,
  out: { dir: string },
  options: LayerOptions,
): Promise<LayerDescriptor> {
  const settings = layerOptions(options);
  const entries = await treeEntries(rootDir);
  // The walk yields each path once, parents first, in layer order; prepare() still checks each
  // entry (symlink targets above all) exactly as prepareEntries would.
  return writeBlob(
    {
      *[Symbol.iterator]() {
        for (const entry of entries) yield prepare(entry);
      },
    },
    out,
    settings,
  );
}

async function writeBlob(
  prepared: Iterable<PreparedEntry>,
  out: { dir: string },
  { compression, level, epoch }: ReturnType<typeof layerOptions>,
): Promise<LayerDescriptor> {
  const shaDir = join(out.dir, "sha256");
  await mkdir(shaDir, { recursive: true });
  const diffHash = createHash("sha256");
  const blobHash = createHash("sha256");
  let size = 0;
  const tmp = tempName(shaDir, "layer");
  const fh = await open(tmp, "wx", 0o644);
  try {
    const file = new FileAppender(fh);
    await compressBlocks(
      (out) => writeTar(out, prepared, epoch),
      compression,
      level,
      (block) => diffHash.update(block),
      (chunk) => {
        blobHash.update(chunk);
        size += chunk.length;
        // Awaited: the chunk's memory is reused for later output once the write is done.
        return file.write(chunk);
      },
    );
    await file.sync();
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
