import { lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { errnoCode, ociError } from "./errors.ts";
import { normalizeEntryPath, sortByPathBytes } from "./paths.ts";
import { fileOpener } from "./source.ts";
import type { FsEntry } from "./types.ts";

/** Options of {@link collectTree}. */
export interface CollectTreeOptions {
  /** Image path the tree is placed under (e.g. "usr/local/lib"); default: the image root. */
  prefix?: string;
  /**
   * Keep hard links as tar hard links (the first path in byte order holds the data). Default
   * false: every link is stored as its own regular file, so the layer never depends on the
   * inode layout of the machine that built it.
   */
  hardlinks?: boolean;
}

/** Longest stretch of synchronous file-system calls before `collectTree` lets other work run. */
const YIELD_EVERY_MS = 10;

function changed(path: string, cause: unknown): Error {
  return ociError(
    "OCI_SOURCE_CHANGED",
    `${path} disappeared or changed while the tree was being read (${errnoCode(cause) ?? String(cause)})`,
    "Make sure nothing writes to the directory while the image is written, then retry.",
    { cause },
  );
}

/** Characters whose UTF-16 order differs from their UTF-8 byte order (surrogates vs U+E000..). */
const NOT_CODE_UNIT_ORDER = /[\uD800-\uFFFF]/;

/** Bytewise (UTF-8) order of two strings, as `sortByPathBytes` orders paths. */
function compareBytes(a: string, b: string): number {
  if (NOT_CODE_UNIT_ORDER.test(a) || NOT_CODE_UNIT_ORDER.test(b)) {
    return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What the walk found at one path (the root is followed, nothing below it is). */
function entryFor(abs: string, path: string, st: Stats, linkTarget?: string): FsEntry {
  const mode = st.mode & 0o7777;
  if (st.isDirectory()) return { path, type: "dir", mode };
  if (st.isSymbolicLink()) return { path, type: "symlink", mode, linkTarget: linkTarget ?? "" };
  if (st.isFile()) return { path, type: "file", mode, size: st.size, open: fileOpener(abs) };
  throw ociError(
    "OCI_UNSUPPORTED_FILE_TYPE",
    `${abs} is a socket, FIFO or device node, which a layer cannot hold`,
    "Remove it from the tree (system extensions ship regular files, directories and links only).",
  );
}

interface Child {
  /** Sort key: the name for the entry itself, the name and "/" for what is below a directory. */
  key: string;
  entry?: FsEntry;
  stats?: Stats;
  dir?: string;
  path?: string;
}

/**
 * The entries below `absDir` (whose image path is `dirPath`, "" for the root), in layer order:
 * bytewise by full path. Within one directory that is the order of the names, except that a
 * directory's contents sort as its name followed by "/" ("a" < "a-b" < "a/x" < "a0"), so each
 * directory is read when its turn comes and nothing needs sorting afterwards. Synchronous
 * calls: an lstat of a cached inode takes microseconds, a threadpool round trip ten times more,
 * and a rootfs has tens of thousands of entries. `onEntry` sees each entry with its stats.
 */
function* walkDir(
  absDir: string,
  dirPath: string,
  onEntry?: (entry: FsEntry, st: Stats) => void,
): Generator<FsEntry> {
  let names: string[];
  try {
    names = readdirSync(absDir);
  } catch (cause) {
    if (errnoCode(cause) === "ENOENT" || errnoCode(cause) === "ENOTDIR") throw changed(absDir, cause);
    throw cause;
  }
  const children: Child[] = [];
  for (const name of names) {
    const abs = join(absDir, name);
    const path = dirPath ? `${dirPath}/${name}` : name;
    let st: Stats;
    let target: string | undefined;
    try {
      st = lstatSync(abs);
      if (st.isSymbolicLink()) target = readlinkSync(abs);
    } catch (cause) {
      if (errnoCode(cause) === "ENOENT" || errnoCode(cause) === "EINVAL") throw changed(abs, cause);
      throw cause;
    }
    children.push({ key: name, entry: entryFor(abs, path, st, target), stats: st });
    if (st.isDirectory()) children.push({ key: `${name}/`, dir: abs, path });
  }
  children.sort((a, b) => compareBytes(a.key, b.key));
  for (const child of children) {
    if (child.entry) {
      onEntry?.(child.entry, child.stats!);
      yield child.entry;
    } else {
      yield* walkDir(child.dir!, child.path!, onEntry);
    }
  }
}

async function statRoot(rootDir: string): Promise<Stats> {
  try {
    // The root itself is followed (like a finalize copy with follow-symlink); nothing below it is.
    return await stat(rootDir);
  } catch (cause) {
    throw ociError(
      "OCI_SOURCE_MISSING",
      `cannot read ${rootDir}: ${errnoCode(cause) ?? cause}`,
      "Check the path.",
      {
        cause,
      },
    );
  }
}

/**
 * The entries of `rootDir` as `collectTree(rootDir)` returns them (no prefix, no hard links), in
 * the same order, but produced as they are consumed: the layer writer starts compressing while
 * the rest of the tree is still being read. Errors surface while iterating.
 */
export async function treeEntries(rootDir: string): Promise<Iterable<FsEntry>> {
  const rootStat = await statRoot(rootDir);
  if (!rootStat.isDirectory()) return [entryFor(rootDir, basename(rootDir), rootStat)];
  return { [Symbol.iterator]: () => walkDir(rootDir, "") };
}

/**
 * Walks `rootDir` with lstat (symlinks are recorded, never followed) and returns its entries,
 * sorted bytewise by path. The root itself is not an entry; a missing parent is synthesised by
 * the layer writer. If `rootDir` is a file, the result is that one file, named by its base name.
 */
export async function collectTree(rootDir: string, options: CollectTreeOptions = {}): Promise<FsEntry[]> {
  const prefix = options.prefix ? normalizeEntryPath(options.prefix, "collectTree prefix") : "";
  const rootStat = await statRoot(rootDir);
  if (!rootStat.isDirectory()) {
    return [entryFor(rootDir, prefix ? `${prefix}/${basename(rootDir)}` : basename(rootDir), rootStat)];
  }
  const entries: FsEntry[] = [];
  const inodes = new Map<string, FsEntry[]>();
  const onEntry = options.hardlinks
    ? (entry: FsEntry, st: Stats) => {
        if (entry.type !== "file" || st.nlink < 2) return;
        const key = `${st.dev}:${st.ino}`;
        const group = inodes.get(key);
        if (group) group.push(entry);
        else inodes.set(key, [entry]);
      }
    : undefined;
  let lastYield = performance.now();
  for (const entry of walkDir(rootDir, prefix, onEntry)) {
    entries.push(entry);
    if (performance.now() - lastYield > YIELD_EVERY_MS) {
      await nextTurn();
      lastYield = performance.now();
    }
  }
  for (const group of inodes.values()) {
    if (group.length < 2) continue;
    const [first, ...rest] = sortByPathBytes(group);
    for (const link of rest) {
      link.type = "hardlink";
      link.linkTarget = first!.path;
      delete link.size;
      delete link.open;
    }
  }
  return entries;
}
