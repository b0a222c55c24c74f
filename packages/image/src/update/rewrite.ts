/**
 * The edit itself, as bldr does it: plain text substitution of each old checksum string by its new
 * one in the Pkgfile and every vars.yaml. Nothing is parsed or re-serialised, so comments, quoting,
 * key order and line endings stay exactly as they were.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isTalosExtError } from "@talos-ext/spec";
import { updateError } from "./errors.ts";

/** One checksum value swapped for another in the tree's files. */
export interface ChecksumReplacement {
  /** Which digest it is. */
  algorithm: "sha256" | "sha512";
  /** The digest as written before (hex). */
  old: string;
  /** The digest of the file now at the URL (hex). */
  new: string;
}

export interface FileRewrite {
  /** Relative to the tree root (posix). */
  file: string;
  abs: string;
  before: string;
  after: string;
  /** How many times each old checksum was replaced in this file. */
  counts: Record<string, number>;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** All replacements at once, so a new value is never itself replaced again. */
export function substitute(
  text: string,
  pairs: readonly ChecksumReplacement[],
): {
  /** `text` with every old checksum replaced by its new one. */
  text: string;
  /** How many times each old checksum was replaced (only those found). */
  counts: Record<string, number>;
} {
  const counts: Record<string, number> = {};
  const live = pairs.filter((p) => p.old !== "" && p.old !== p.new);
  if (live.length === 0) return { text, counts };
  const byOld = new Map(live.map((p) => [p.old, p.new]));
  const olds = [...byOld.keys()].sort((a, b) => b.length - a.length).map(escapeRe);
  const out = text.replace(new RegExp(olds.join("|"), "g"), (old) => {
    counts[old] = (counts[old] ?? 0) + 1;
    return byOld.get(old)!;
  });
  return { text: out, counts };
}

/** Reads each file and works out its new text; files that would not change are left out. */
export async function planRewrites(
  root: string,
  files: readonly string[],
  pairs: readonly ChecksumReplacement[],
): Promise<{ rewrites: FileRewrite[]; found: Set<string> }> {
  const rewrites: FileRewrite[] = [];
  const found = new Set<string>();
  for (const file of files) {
    const abs = join(root, file);
    let before: string;
    try {
      before = await readFile(abs, "utf8");
    } catch (cause) {
      throw updateError(
        "UPDATE_READ_FAILED",
        `cannot read ${file}: ${(cause as Error).message}`,
        "check the file",
        {
          location: { file },
          cause,
        },
      );
    }
    const { text: after, counts } = substitute(before, pairs);
    for (const old of Object.keys(counts)) found.add(old);
    if (after !== before) rewrites.push({ file, abs, before, after, counts });
  }
  return { rewrites, found };
}

/** The change as a `-U0` unified diff; a substitution never adds or removes lines. */
export function unifiedDiff(rw: Pick<FileRewrite, "file" | "before" | "after">): string {
  const a = rw.before.split("\n");
  const b = rw.after.split("\n");
  const out = [`--- a/${rw.file}`, `+++ b/${rw.file}`];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    let j = i;
    while (j + 1 < a.length && a[j + 1] !== b[j + 1]) j++;
    const n = j - i + 1;
    const range = n === 1 ? `${i + 1}` : `${i + 1},${n}`;
    out.push(`@@ -${range} +${range} @@`);
    for (let k = i; k <= j; k++) out.push(`-${a[k]}`);
    for (let k = i; k <= j; k++) out.push(`+${b[k]}`);
    i = j;
  }
  return `${out.join("\n")}\n`;
}

/**
 * Writes every rewrite as temp file + rename next to the real file (symlinks are followed, file
 * modes kept). All temp files are written and synced before the first rename, so a failure while
 * writing leaves every file untouched. A file that changed on disk since it was read is refused.
 */
export async function writeRewrites(rewrites: readonly FileRewrite[]): Promise<void> {
  const staged: { rw: FileRewrite; tmp: string; target: string }[] = [];
  try {
    for (const rw of rewrites) {
      const target = await realpath(rw.abs);
      const now = await readFile(target, "utf8");
      if (now !== rw.before) {
        throw updateError(
          "UPDATE_FILE_CHANGED",
          `${rw.file} changed on disk while the update ran`,
          "run the update again",
          { location: { file: rw.file } },
        );
      }
      const mode = (await stat(target)).mode & 0o7777;
      const tmp = join(
        dirname(target),
        `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
      );
      staged.push({ rw, tmp, target });
      const fh = await open(tmp, "wx", mode);
      try {
        await fh.writeFile(rw.after, "utf8");
        await fh.chmod(mode);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  } catch (err) {
    await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
    if (isTalosExtError(err)) throw err;
    throw updateError(
      "UPDATE_WRITE_FAILED",
      `cannot write ${staged.at(-1)?.rw.file ?? "the files"}: ${(err as Error).message}`,
      "check permissions and free space; no file was changed",
      { cause: err },
    );
  }
  const done: string[] = [];
  for (const [i, s] of staged.entries()) {
    try {
      await rename(s.tmp, s.target);
      done.push(s.rw.file);
    } catch (err) {
      await Promise.all(staged.slice(i).map((t) => rm(t.tmp, { force: true })));
      throw updateError(
        "UPDATE_WRITE_FAILED",
        `cannot replace ${s.rw.file}: ${(err as Error).message}`,
        done.length
          ? `already updated: ${done.join(", ")}; the other files are unchanged. Fix the problem and run again.`
          : "no file was changed; check permissions",
        { cause: err },
      );
    }
  }
}
