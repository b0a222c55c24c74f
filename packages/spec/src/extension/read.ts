/**
 * Turning inputs into extension trees: a directory (walked with lstat, symlinks never followed),
 * or a tar of the flattened image (plain, gzip or zstd).
 */
import { constants, type Stats } from "node:fs";
import { lstat, open, readdir, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { type Diagnostic, TalosExtError } from "../errors.ts";
import { RegularFileError, readRegularFile, regularFileChunks } from "../fs/regular-file.ts";
import { readTar, type TarEntry, type TarFinding } from "../tar/read.ts";
import { type ByteSource, readRange } from "../tar/stream.ts";
import { type ExtensionEntry, type ExtensionEntryType, type ExtensionTree, tooLarge } from "./tree.ts";

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

async function readNoFollow(file: string, size: number): Promise<Uint8Array> {
  // The walk saw a regular file of `size` bytes; never read through a symlink or FIFO swapped in
  // since, nor more than that size.
  try {
    return await readRegularFile(file, size);
  } catch (e) {
    if (!(e instanceof RegularFileError)) throw e;
    throw inputError(
      "EXT_INPUT_UNREADABLE",
      file,
      `cannot read ${file}: ${e.message}`,
      "do not change the extension while it is validated",
      e,
    );
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
      if (type === "file") entry.read = () => readNoFollow(full, st.size);
      entries.push(entry);
      if (type === "dir") await walk(path);
    }
  };
  await walk("");
  return { source: dir, entries, kind: "dir" };
}

/** A tar member as kept after the scan: its metadata, and its bytes when it is small. */
export type TarMember = Omit<TarEntry, "body" | "bytes"> & { data?: Uint8Array };

/** Largest manifest.yaml or service spec read: real ones are a few KiB. */
export const MAX_EXTENSION_DOCUMENT = 1024 * 1024;

/**
 * Scans a tar of (a layer of) an extension image under the `validate` path policy. Names that
 * leave the root are fatal (Talos's extractor refuses them too); the other path and link faults
 * become diagnostics. Small files are kept in memory; a `manifest.yaml` larger than
 * `MAX_EXTENSION_DOCUMENT` stops the scan at once (a decompression bomb must not be inflated).
 */
export async function membersFromTar(
  input: ByteSource,
  source: string,
  diagnostics: Diagnostic[],
): Promise<{ members: TarMember[]; plain: boolean }> {
  let kept = 0;
  let plain = false;
  const members: TarMember[] = [];
  const onFinding = (f: TarFinding) => {
    if (f.fault === "traversal") throw f.error;
    const severity = f.fault === "symlinkEscape" ? "warning" : "error";
    for (const d of f.error.diagnostics) diagnostics.push({ ...d, severity, file: `${source}:${f.path}` });
  };
  for await (const m of readTar(input, {
    source,
    policy: "validate",
    onFinding,
    onCompression: (c) => {
      plain = c === "none";
    },
  })) {
    if (m.path === "manifest.yaml" && m.size > MAX_EXTENSION_DOCUMENT) {
      throw tooLarge(`${source}:${m.path}`, m.size, MAX_EXTENSION_DOCUMENT);
    }
    const { body: _body, bytes, ...meta } = m;
    const member: TarMember = meta;
    if (
      m.type === "file" &&
      !m.sparse &&
      m.size > 0 &&
      m.size <= KEEP_MAX_FILE &&
      kept + m.size <= KEEP_MAX_TOTAL
    ) {
      kept += m.size;
      member.data = await bytes();
    }
    members.push(member);
  }
  return { members, plain };
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
): Promise<{ entries: ExtensionEntry[]; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const { members, plain } = await membersFromTar(input, source, diagnostics);
  const byPath = new Map<string, ExtensionEntry>();
  const entries: ExtensionEntry[] = [];
  for (const m of members) {
    const entry = toEntry(m, source, reopen, byPath, plain ? direct : undefined);
    byPath.set(entry.path, entry);
    entries.push(entry);
  }
  return { entries, diagnostics };
}

/** One tree entry for a scanned member; file bytes come from memory, `direct` or `reopen`. */
export function toEntry(
  m: TarMember,
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
  m: TarMember,
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
  const { entries, diagnostics } = await entriesFromTar(
    regularFileChunks(file),
    file,
    () => regularFileChunks(file),
    (offset, length) => readFileRange(file, offset, length),
  );
  const tree: ExtensionTree = { source: file, entries, kind: "archive" };
  if (diagnostics.length > 0) tree.diagnostics = diagnostics;
  return tree;
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
