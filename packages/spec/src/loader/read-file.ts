/**
 * Reads one input file of a tree, safely, through the one regular-file reader
 * (`fs/regular-file.ts`): regular files only, at most `maxBytes`, in-tree symlinks followed as
 * bldr does, but never one swapped after the walk to point outside the tree. Maps refusals to the
 * loader's LOAD_* codes, located at the file as the user knows it.
 */
import { TalosExtError } from "../errors.ts";
import { RegularFileError, readRegularFile } from "../fs/regular-file.ts";

/** Default cap on one input file of a tree (Pkgfile, vars.yaml, pkg.yaml, *.tmpl): 64 MiB. */
export const DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** Options of {@link readTreeFile}. */
export interface ReadTreeFileOptions {
  /** The path as the user knows it (relative to the tree root), used in messages and locations. */
  file: string;
  /** Largest file accepted. Default {@link DEFAULT_MAX_INPUT_BYTES}. */
  maxBytes?: number;
  /** Real path of the tree root: the opened file must resolve inside it. */
  rootReal?: string;
}

/** The error for an input that exists but is not a regular file. */
export function notRegularFile(file: string, what: string): TalosExtError {
  return new TalosExtError({
    code: "LOAD_NOT_REGULAR_FILE",
    message: `"${file}" is ${what}, not a regular file`,
    hint: "tree files (Pkgfile, vars.yaml, pkg.yaml, *.tmpl) must be regular files or symlinks to regular files inside the tree; replace it with a regular file",
    location: { file },
  });
}

/**
 * Reads a tree file whole. Throws TalosExtError: `LOAD_NOT_REGULAR_FILE` (FIFO, device, socket,
 * directory), `LOAD_FILE_TOO_LARGE`, `LOAD_SYMLINK_ESCAPE` (resolved outside `rootReal`); other
 * failures (missing, permissions) are rethrown as the system reported them.
 */
export async function readTreeFile(abs: string, options: ReadTreeFileOptions): Promise<Uint8Array> {
  const max = options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  try {
    return await readRegularFile(abs, max, {
      followSymlinks: true,
      ...(options.rootReal === undefined ? {} : { insideRoot: options.rootReal }),
    });
  } catch (e) {
    if (!(e instanceof RegularFileError)) throw e;
    const { file } = options;
    switch (e.problem) {
      case "not-regular":
        throw notRegularFile(file, e.what ?? "not a regular file");
      case "too-large":
        throw new TalosExtError({
          code: "LOAD_FILE_TOO_LARGE",
          message: `"${file}" is larger than ${max} bytes (${e.size ?? max + 1} or more)`,
          hint: "bldr tree files are small text files; check that this is the file you meant",
          location: { file },
        });
      case "escape":
        throw new TalosExtError({
          code: "LOAD_SYMLINK_ESCAPE",
          message: `"${file}" is a symlink that points outside the tree`,
          hint: "a build only sees files inside the build context; copy the file into the tree instead of linking it",
          location: { file },
        });
      default:
        throw e.cause ?? e;
    }
  }
}
