import { lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { errnoCode, ociError } from "./errors.ts";
import { normalizeEntryPath, sortByPathBytes } from "./paths.ts";
import { fileOpener } from "./source.ts";
import type { FsEntry } from "./types.ts";

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

/** Longest stretch of synchronous file-system calls before the walk lets other work run. */
const YIELD_EVERY_MS = 10;

function changed(path: string, cause: unknown): Error {
  return ociError(
    "OCI_SOURCE_CHANGED",
    `${path} disappeared or changed while the tree was being read (${errnoCode(cause) ?? String(cause)})`,
    "Make sure nothing writes to the directory while the image is written, then retry.",
    { cause },
  );
}

/**
 * Walks `rootDir` with lstat (symlinks are recorded, never followed) and returns its entries,
 * sorted bytewise by path. The root itself is not an entry; a missing parent is synthesised by
 * the layer writer. If `rootDir` is a file, the result is that one file, named by its base name.
 */
export async function collectTree(rootDir: string, options: CollectTreeOptions = {}): Promise<FsEntry[]> {
  const prefix = options.prefix ? normalizeEntryPath(options.prefix, "collectTree prefix") : "";
  const under = (rel: string) => (prefix ? `${prefix}/${rel}` : rel);
  let rootStat: Stats;
  try {
    // The root itself is followed (like a finalize copy with follow-symlink); nothing below it is.
    rootStat = await stat(rootDir);
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
  const entries: FsEntry[] = [];
  const inodes = new Map<string, FsEntry[]>();

  const add = (abs: string, rel: string, st: Stats, linkTarget?: string) => {
    const path = under(rel);
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      entries.push({ path, type: "dir", mode });
    } else if (st.isSymbolicLink()) {
      entries.push({ path, type: "symlink", mode, linkTarget: linkTarget ?? "" });
    } else if (st.isFile()) {
      const entry: FsEntry = { path, type: "file", mode, size: st.size, open: fileOpener(abs) };
      entries.push(entry);
      if (options.hardlinks && st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const group = inodes.get(key);
        if (group) group.push(entry);
        else inodes.set(key, [entry]);
      }
    } else {
      throw ociError(
        "OCI_UNSUPPORTED_FILE_TYPE",
        `${abs} is a socket, FIFO or device node, which a layer cannot hold`,
        "Remove it from the tree (system extensions ship regular files, directories and links only).",
      );
    }
  };

  if (!rootStat.isDirectory()) {
    add(rootDir, basename(rootDir), rootStat);
    return entries;
  }

  // Synchronous calls: an lstat of a cached inode takes microseconds, a threadpool round trip
  // ten times more, and a rootfs has tens of thousands of entries. The walk still yields to the
  // event loop every few milliseconds.
  let lastYield = performance.now();
  const walk = async (absDir: string, relDir: string): Promise<void> => {
    let names: string[];
    try {
      names = readdirSync(absDir);
    } catch (cause) {
      if (errnoCode(cause) === "ENOENT" || errnoCode(cause) === "ENOTDIR") throw changed(absDir, cause);
      throw cause;
    }
    names.sort();
    for (const name of names) {
      const abs = join(absDir, name);
      const rel = relDir ? `${relDir}/${name}` : name;
      let st: Stats;
      let target: string | undefined;
      try {
        st = lstatSync(abs);
        if (st.isSymbolicLink()) target = readlinkSync(abs);
      } catch (cause) {
        if (errnoCode(cause) === "ENOENT" || errnoCode(cause) === "EINVAL") throw changed(abs, cause);
        throw cause;
      }
      add(abs, rel, st, target);
      if (st.isDirectory()) await walk(abs, rel);
    }
    if (performance.now() - lastYield > YIELD_EVERY_MS) {
      await nextTurn();
      lastYield = performance.now();
    }
  };
  await walk(rootDir, "");

  const sorted = sortByPathBytes(entries);
  if (options.hardlinks) {
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
  }
  return sorted;
}
