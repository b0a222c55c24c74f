import { createReadStream } from "node:fs";

/** Marks the `open` functions made by `collectTree` with the file each one reads. */
const SOURCE_PATH = Symbol("talos-ext.sourcePath");

type Opener = (() => NodeJS.ReadableStream) & { [SOURCE_PATH]?: string };

/**
 * An `open` for a file found by `collectTree`. The layer writer reads such files itself,
 * straight into its blocks, instead of through one read stream per file; any other `open` (or
 * one a caller swapped in) goes through the public contract. (A property on the function rather
 * than a WeakMap: tens of thousands of weak entries slow every garbage collection down.)
 */
export function fileOpener(path: string): () => NodeJS.ReadableStream {
  const open: Opener = () => createReadStream(path);
  open[SOURCE_PATH] = path;
  return open;
}

/** The file an `open` function made by `fileOpener` reads, if it is one. */
export function sourcePathOf(open: unknown): string | undefined {
  return typeof open === "function" ? (open as Opener)[SOURCE_PATH] : undefined;
}
