/**
 * Directory listing with bldr's rules for what a walk may see: names sorted bytewise (as BuildKit's
 * ReadDir and Go's filepath.Walk return them), symlinked directories never followed, and symlinks
 * that resolve outside the tree root refused.
 */
import type { Dirent } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { describeFileType, isInsideDir } from "../fs/regular-file.ts";

export type EntryKind =
  /** A regular file, or a symlink to one inside the root. */
  | "file"
  /** A real directory (walked). */
  | "dir"
  /** A symlink to a directory: bldr's walkers do not descend into it. */
  | "symlink-dir"
  /** A symlink that resolves outside the root. */
  | "escape"
  /** A FIFO, a socket, a device, a dangling symlink, a symlink to one of those. */
  | "other";

export interface Entry {
  name: string;
  kind: EntryKind;
  /** Absolute path of the entry itself (not of a symlink's target). */
  abs: string;
  /** For kind "other": what it is ("a FIFO (named pipe)", "a dangling symlink", …). */
  what?: string;
}

/** Go orders strings by their UTF-8 bytes; JS `<` compares UTF-16 units, which differs past U+FFFF. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Lists `absDir` sorted by name; `undefined` when it cannot be read. */
export async function listDir(rootReal: string, absDir: string): Promise<Entry[] | undefined> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(absDir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  const out: Entry[] = [];
  for (const d of dirents) {
    const abs = join(absDir, d.name);
    out.push({ name: d.name, abs, ...(await kindOf(rootReal, d, abs)) });
  }
  return out.sort((a, b) => compareBytes(a.name, b.name));
}

type Kind = { kind: EntryKind; what?: string };

async function kindOf(rootReal: string, d: Dirent, abs: string): Promise<Kind> {
  if (d.isDirectory()) return { kind: "dir" };
  if (d.isFile()) return { kind: "file" };
  if (!d.isSymbolicLink()) return { kind: "other", what: direntType(d) };
  return describeSymlink(rootReal, abs);
}

function direntType(d: Dirent): string {
  if (d.isFIFO()) return "a FIFO (named pipe)";
  if (d.isCharacterDevice()) return "a character device";
  if (d.isBlockDevice()) return "a block device";
  if (d.isSocket()) return "a socket";
  return "not a regular file";
}

/** What a symlink resolves to, from the walk's point of view (the target is never opened). */
export async function describeSymlink(rootReal: string, abs: string): Promise<Kind> {
  let target: string;
  try {
    target = await realpath(abs);
  } catch {
    return { kind: "other", what: "a dangling symlink" };
  }
  if (!isInsideDir(rootReal, target)) return { kind: "escape" };
  try {
    const s = await stat(target);
    if (s.isDirectory()) return { kind: "symlink-dir", what: "a symlink to a directory" };
    return s.isFile() ? { kind: "file" } : { kind: "other", what: `a symlink to ${describeFileType(s)}` };
  } catch {
    return { kind: "other", what: "a dangling symlink" };
  }
}

export async function symlinkKind(rootReal: string, abs: string): Promise<EntryKind> {
  return (await describeSymlink(rootReal, abs)).kind;
}
