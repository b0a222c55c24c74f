/**
 * Lexical rules for paths inside an archive or image: relative POSIX paths, no `.` or empty parts.
 * Pure string work; what a violation costs (a finding or a refusal) is the caller's policy.
 */
import { TalosExtError } from "../errors.ts";

/** Why a member name cannot be used as is. */
export type ArchiveNameProblem = "nul" | "absolute" | "parent" | "escapes";

/**
 * Splits a member name into its parts. `..` is resolved lexically when `resolveParent` (Go's
 * `filepath.Join`, what Talos's untar does), otherwise any `..` is a problem.
 */
export function splitArchiveName(
  raw: string,
  resolveParent: boolean,
):
  | {
      /** The name's parts joined by `/`, without `.` or empty parts (and `..` resolved when allowed). */
      path: string;
    }
  | {
      /** Why the name cannot be used. */
      problem: ArchiveNameProblem;
    } {
  if (raw.includes("\0")) return { problem: "nul" };
  if (raw.startsWith("/")) return { problem: "absolute" };
  const out: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (!resolveParent) return { problem: "parent" };
      if (out.length === 0) return { problem: "escapes" };
      out.pop();
      continue;
    }
    out.push(part);
  }
  return { path: out.join("/") };
}

/**
 * Normalises an archive member name. Absolute names and names that climb out of the root with
 * `..` are refused (`EXT_PATH_TRAVERSAL`); `a/../b` is accepted as `b`.
 */
export function normalizeArchivePath(raw: string, source = "<archive>"): string {
  const r = splitArchiveName(raw, true);
  if ("path" in r) return r.path;
  const what =
    r.problem === "absolute"
      ? "has an absolute path"
      : r.problem === "nul"
        ? "has a NUL byte in its name"
        : "escapes the extraction root";
  throw new TalosExtError({
    code: "EXT_PATH_TRAVERSAL",
    message: `archive entry ${JSON.stringify(raw)} ${what}`,
    hint:
      r.problem === "absolute"
        ? "create the archive from inside the extension directory (e.g. `tar -C dir -cf x.tar .`)"
        : "an archive may not contain `..` components that leave its root; rebuild it without them",
    location: { file: source },
  });
}

/**
 * True if a relative symlink target climbs above the root when resolved from the link's
 * directory. Lexical and step by step, so `a/../../x` is caught even though it ends at a plausible
 * depth. Absolute targets resolve against the root of whatever mounts the tree (`/..` is `/`).
 */
export function symlinkEscapes(entryPath: string, target: string): boolean {
  if (target.startsWith("/")) return false;
  let depth = entryPath.split("/").length - 1;
  for (const seg of target.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      depth--;
      if (depth < 0) return true;
    } else {
      depth++;
    }
  }
  return false;
}

/** Parent directories of a normalised path, shallowest first (`a/b/c` -> `a`, `a/b`). */
export function parentsOf(path: string): string[] {
  const parts = path.split("/");
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}
