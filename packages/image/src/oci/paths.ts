import { symlinkEscapes } from "@talos-ext/spec";
import { ociError } from "./errors.ts";

// The lexical symlink rule and the parent list are spec's (one path policy for every tar).
export { parentsOf } from "@talos-ext/spec";

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

/** Bytewise (UTF-8) order, so the order never depends on locale or on UTF-16 quirks. */
export function sortByPathBytes<T extends { path: string }>(items: T[]): T[] {
  const keyed = items.map((item) => ({ item, key: Buffer.from(item.path, "utf8") }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map((k) => k.item);
}
