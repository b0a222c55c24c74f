import { createReadStream } from "node:fs";

/**
 * `open` functions made by `collectTree`, with the file each one reads. The layer writer reads
 * such files itself, straight into its blocks, instead of through one read stream per file; any
 * other `open` (or one a caller swapped in) goes through the public contract.
 */
const sourcePaths = new WeakMap<object, string>();

export function fileOpener(path: string): () => NodeJS.ReadableStream {
  const open = () => createReadStream(path);
  sourcePaths.set(open, path);
  return open;
}

/** The file an `open` function made by `fileOpener` reads, if it is one. */
export function sourcePathOf(open: unknown): string | undefined {
  return typeof open === "function" ? sourcePaths.get(open) : undefined;
}
