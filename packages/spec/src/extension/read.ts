/**
 * Turning inputs into extension trees: a directory (walked with lstat, symlinks never followed),
 * or a tar of the flattened image (plain, gzip or zstd).
 */
import { constants, type Stats } from "node:fs";
import { lstat, open, readdir, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { TalosExtError } from "../errors.ts";
import { type ByteSource, fileChunks, readRange } from "./stream.ts";
import { readTar, type TarEntry } from "./tar.ts";
import type { ExtensionEntry, ExtensionEntryType, ExtensionTree } from "./tree.ts";

/** Files up to this size are kept in memory while scanning an archive; larger ones are re-read on demand. */
const KEEP_MAX_FILE = 64 * 1024;
const KEEP_MAX_TOTAL = 32 * 1024 * 1024;

function inputError(
  code: string,
  file: string,
  message: string,
  hint: string,
  cause?: unknown,
): TalosExtError {
  return new TalosExtError({ code, message, hint, location: { file }, cause });
}

function typeOf(st: Stats): ExtensionEntryType {
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFile()) return "file";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return "socket";
}

async function readNoFollow(file: string): Promise<Uint8Array> {
  // O_NOFOLLOW: the walk saw a regular file; never read through a symlink swapped in since.
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/** Walks an extension directory without following any symlink. */
export async function readExtensionDir(dir: string): Promise<ExtensionTree> {
  let top: Stats;
  try {
    top = await stat(dir);
  } catch (e) {
    throw inputError(
      "EXT_INPUT_NOT_FOUND",
      dir,
      `cannot read ${dir}: ${(e as Error).message}`,
      "check the path",
      e,
    );
  }
  if (!top.isDirectory()) {
    throw inputError(
      "EXT_INPUT_UNSUPPORTED",
      dir,
      `${dir} is not a directory`,
      "pass an extension directory",
    );
  }
  const entries: ExtensionEntry[] = [];
  const walk = async (rel: string) => {
    let names: string[];
    try {
      names = await readdir(rel === "" ? dir : join(dir, rel));
    } catch (e) {
      throw inputError(
        "EXT_INPUT_UNREADABLE",
        join(dir, rel),
        `cannot list ${join(dir, rel)}: ${(e as Error).message}`,
        "check permissions",
        e,
      );
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const full = join(dir, path);
      let st: Stats;
      try {
        st = await lstat(full);
      } catch (e) {
        throw inputError(
          "EXT_INPUT_UNREADABLE",
          full,
          `cannot stat ${full}: ${(e as Error).message}`,
          "check permissions",
          e,
        );
      }
      const type = typeOf(st);
      const entry: ExtensionEntry = {
        path,
        type,
        mode: st.mode & 0o7777,
        size: type === "file" ? st.size : 0,
      };
      if (type === "symlink") {
        entry.linkTarget = await readlink(full);
        entry.size = st.size;
      }
      if (type === "file") entry.read = () => readNoFollow(full);
      entries.push(entry);
      if (type === "dir") await walk(path);
    }
  };
  await walk("");
  return { source: dir, entries, kind: "dir" };
}

/**
 * Builds tree entries from tar members. Small files are kept; the rest read back through `reopen`
 * (a fresh stream of the same archive) at their data offset. Hardlinks read their target.
 */
export async function entriesFromTar(
  input: ByteSource,
  source: string,
  reopen: () => ByteSource,
  /** Random access into the raw input, used instead of `reopen` when it turns out uncompressed. */
  direct?: (offset: number, length: number) => Promise<Uint8Array>,
): Promise<{ entries: ExtensionEntry[]; members: TarEntry[] }> {
  let kept = 0;
  let plain = false;
  const members: TarEntry[] = [];
  const keep = (e: TarEntry) => {
    if (e.size > KEEP_MAX_FILE || kept + e.size > KEEP_MAX_TOTAL) return false;
    kept += e.size;
    return true;
  };
  const onCompression = (c: string) => {
    plain = c === "none";
  };
  for await (const m of readTar(input, { source, keep, onCompression })) members.push(m);
  const byPath = new Map<string, ExtensionEntry>();
  const entries: ExtensionEntry[] = [];
  for (const m of members) {
    const entry = toEntry(m, source, reopen, byPath, plain ? direct : undefined);
    byPath.set(entry.path, entry);
    entries.push(entry);
  }
  return { entries, members };
}

export function toEntry(
  m: TarEntry,
  source: string,
  reopen: () => ByteSource,
  earlier: ReadonlyMap<string, ExtensionEntry>,
  direct?: (offset: number, length: number) => Promise<Uint8Array>,
): ExtensionEntry {
  const entry: ExtensionEntry = { path: m.path, type: m.type, mode: m.mode, size: m.size };
  if (m.linkTarget !== undefined) entry.linkTarget = m.linkTarget;
  if (m.type === "file") entry.read = memberReader(m, source, reopen, direct);
  if (m.type === "hardlink") {
    const target = m.linkTarget === undefined ? undefined : earlier.get(m.linkTarget);
    if (target?.read) {
      entry.read = target.read;
      entry.size = target.size;
    }
  }
  return entry;
}

function memberReader(
  m: TarEntry,
  source: string,
  reopen: () => ByteSource,
  direct?: (offset: number, length: number) => Promise<Uint8Array>,
): () => Promise<Uint8Array> {
  const location = `${source}:${m.path}`;
  if (m.sparse) {
    return async () => {
      throw inputError(
        "EXT_TAR_UNSUPPORTED",
        location,
        `${location} is stored as a sparse file, which cannot be read back`,
        "create the archive without --sparse",
      );
    };
  }
  if (m.data) {
    const data = m.data;
    return async () => data;
  }
  if (m.storedSize === 0) return async () => new Uint8Array(0);
  if (direct) return () => direct(m.dataOffset, m.storedSize);
  return () =>
    readRange(
      reopen,
      m.dataOffset,
      m.storedSize,
      (cause) =>
        inputError(
          "EXT_TAR_INVALID",
          location,
          `cannot read ${location}: ${(cause as Error)?.message ?? cause}`,
          "the archive changed or is corrupt",
          cause,
        ),
      (kind) =>
        inputError(
          "EXT_TAR_UNSUPPORTED",
          location,
          `${kind}-compressed archives are not supported`,
          "use a plain, gzip or zstd tar",
        ),
    );
}

/** Reads a tar of a flattened extension image (plain, gzip or zstd). */
export async function readExtensionTar(file: string): Promise<ExtensionTree> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error("not a regular file");
  } catch (e) {
    throw inputError(
      "EXT_INPUT_NOT_FOUND",
      file,
      `cannot read ${file}: ${(e as Error).message}`,
      "check the path",
      e,
    );
  }
  const { entries } = await entriesFromTar(
    fileChunks(file),
    file,
    () => fileChunks(file),
    (offset, length) => readFileRange(file, offset, length),
  );
  return { source: file, entries, kind: "archive" };
}

/** Exactly `length` bytes at `offset` of `file`. */
export async function readFileRange(file: string, offset: number, length: number): Promise<Uint8Array> {
  const handle = await open(file, constants.O_RDONLY);
  try {
    const out = new Uint8Array(length);
    let at = 0;
    while (at < length) {
      const { bytesRead } = await handle.read(out, at, length - at, offset + at);
      if (bytesRead === 0) {
        throw inputError(
          "EXT_TAR_INVALID",
          file,
          `${file} is shorter than its index says`,
          "the file changed while it was read",
        );
      }
      at += bytesRead;
    }
    return out;
  } finally {
    await handle.close();
  }
}
