/**
 * Reading `git diff -U0` output for `update --diff`, as `git diff -U0 | bldr update` does: every
 * added `KEY: value` line names a variable to update in the file it was added to. Keys that are
 * checksums themselves (containing sha256/sha512, any case) are skipped, so re-running after an
 * update does not chase its own edits.
 */
import { varsFileKind } from "./var-def.ts";

/** A variable whose definition a diff adds or changes, with where the diff says so. */
export interface DiffVariable {
  /** The file the line was added to, as named in the diff (posix, prefix stripped). */
  file: string;
  /** The variable's name (the `KEY` of the added `KEY: value` line). */
  key: string;
  /** 1-based line in the diff text, for messages. */
  diffLine: number;
}

const HUNK = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/;
const KEY = /^[ \t]*(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\1[ \t]*:(?:[ \t]|$)/;
const CHECKSUM_KEY = /sha256|sha512/i;

/** `b/x/vars.yaml` or `w/x/vars.yaml` (git's prefixes) -> `x/vars.yaml`; `/dev/null` -> undefined. */
function targetPath(header: string): string | undefined {
  let path = header.slice(4).split("\t")[0]!.trim();
  if (path.startsWith('"') && path.endsWith('"')) path = path.slice(1, -1);
  if (path === "/dev/null" || path === "") return undefined;
  if (path.startsWith("b/") || path.startsWith("w/")) path = path.slice(2);
  return path;
}

/**
 * The variables a unified diff adds, in order, each (file, key) once. Only lines added to a
 * `Pkgfile` or `vars.yaml` count. Hunk line counts are honoured, so an added line that itself
 * starts with `++` is not taken for a file header.
 */
export function variablesFromDiff(diff: string): DiffVariable[] {
  const out: DiffVariable[] = [];
  const seen = new Set<string>();
  let file: string | undefined;
  let oldLeft = 0;
  let newLeft = 0;
  diff.split(/\r?\n/).forEach((line, index) => {
    if (oldLeft > 0 || newLeft > 0) {
      const c = line[0];
      if (c === "\\") return; // "\ No newline at end of file"
      if (c === "-") oldLeft--;
      else if (c === "+") newLeft--;
      else {
        oldLeft--;
        newLeft--;
      }
      if (c !== "+" || file === undefined || varsFileKind(file) === undefined) return;
      const m = KEY.exec(line.slice(1));
      if (!m) return;
      const key = m[2]!;
      if (CHECKSUM_KEY.test(key)) return;
      const id = `${file}\0${key}`;
      if (seen.has(id)) return;
      seen.add(id);
      out.push({ file, key, diffLine: index + 1 });
      return;
    }
    if (line.startsWith("+++ ")) {
      file = targetPath(line);
      return;
    }
    const hunk = HUNK.exec(line);
    if (hunk) {
      oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
      newLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
    }
  });
  return out;
}
