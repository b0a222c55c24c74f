import { ociError } from "./errors.ts";

/**
 * Paths inside an image are posix, relative to the image root, without "." or empty segments.
 * ".." and absolute paths are refused outright rather than resolved: a layer that needs them is
 * either broken or hostile.
 */
export function normalizeEntryPath(raw: string, context: string): string {
  if (raw.includes("\0")) {
    throw ociError(
      "OCI_BAD_ENTRY",
      `${context}: path ${JSON.stringify(raw)} contains a NUL byte`,
      "Rename the file.",
    );
  }
  if (raw.startsWith("/")) {
    throw ociError(
      "OCI_PATH_TRAVERSAL",
      `${context}: path ${JSON.stringify(raw)} is absolute`,
      'Entries must be relative to the image root (no leading "/").',
    );
  }
  const parts = raw.split("/").filter((s) => s !== "" && s !== ".");
  if (parts.includes("..")) {
    throw ociError(
      "OCI_PATH_TRAVERSAL",
      `${context}: path ${JSON.stringify(raw)} contains ".."`,
      'Entries must stay inside the image root; remove the ".." segments.',
    );
  }
  return parts.join("/");
}

/**
 * True if a relative symlink target climbs above the image root when resolved from the link's
 * directory. The check is lexical, step by step, so "a/../../x" is caught even though it ends
 * at a plausible depth. Absolute targets are resolved against the image root by the runtime
 * (`/..` is `/`), so they cannot escape and are allowed: rootfs trees are full of them.
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

export function checkSymlink(entryPath: string, target: string, context: string): void {
  if (target === "") {
    throw ociError(
      "OCI_BAD_ENTRY",
      `${context}: symlink ${entryPath} has an empty target`,
      "Give the symlink a target.",
    );
  }
  if (target.includes("\0")) {
    throw ociError(
      "OCI_BAD_ENTRY",
      `${context}: symlink ${entryPath} target contains a NUL byte`,
      "Fix the link target.",
    );
  }
  if (symlinkEscapes(entryPath, target)) {
    throw ociError(
      "OCI_PATH_TRAVERSAL",
      `${context}: symlink ${entryPath} -> ${target} points outside the image root`,
      "Make the link target stay inside the tree (or use an absolute target, which resolves inside the image).",
    );
  }
}

/** Parent directories of a normalised path, shallowest first ("a/b/c" -> ["a", "a/b"]). */
export function parentsOf(path: string): string[] {
  const parts = path.split("/");
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}

/** Bytewise (UTF-8) order, so the order never depends on locale or on UTF-16 quirks. */
export function sortByPathBytes<T extends { path: string }>(items: T[]): T[] {
  const keyed = items.map((item) => ({ item, key: Buffer.from(item.path, "utf8") }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map((k) => k.item);
}
