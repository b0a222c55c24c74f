/**
 * Directory listing with bldr's rules for what a walk may see: names sorted bytewise (as BuildKit's
 * ReadDir and Go's filepath.Walk return them), symlinked directories never followed, and symlinks
 * that resolve outside the tree root refused.
 */
import type { Dirent } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";

export type EntryKind =
  /** A regular file, or a symlink to one inside the root. */
  | "file"
  /** A real directory (walked). */
  | "dir"
  /** A symlink to a directory: bldr's walkers do not descend into it. */
  | "symlink-dir"
  /** A symlink that resolves outside the root. */
  | "escape"
  /** A dangling symlink, a socket, a device... */
  | "other";

export interface Entry {
  name: string;
  kind: EntryKind;
  /** Absolute path of the entry itself (not of a symlink's target). */
  abs: string;
}

/** Go orders strings by their UTF-8 bytes; JS `<` compares UTF-16 units, which differs past U+FFFF. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export function isInside(rootReal: string, target: string): boolean {
  return target === rootReal || target.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep);
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
    out.push({ name: d.name, abs, kind: await kindOf(rootReal, d, abs) });
  }
  return out.sort((a, b) => compareBytes(a.name, b.name));
}

async function kindOf(rootReal: string, d: Dirent, abs: string): Promise<EntryKind> {
  if (d.isDirectory()) return "dir";
  if (d.isFile()) return "file";
  if (!d.isSymbolicLink()) return "other";
  return symlinkKind(rootReal, abs);
}

export async function symlinkKind(rootReal: string, abs: string): Promise<EntryKind> {
  let target: string;
  try {
    target = await realpath(abs);
  } catch {
    return "other";
  }
  if (!isInside(rootReal, target)) return "escape";
  try {
    const s = await stat(target);
    if (s.isDirectory()) return "symlink-dir";
    return s.isFile() ? "file" : "other";
  } catch {
    return "other";
  }
}
