/**
 * Reads one input file of a tree, safely: regular files only (a FIFO would block the read for
 * ever, `/dev/zero` would never end), at most `maxBytes`, and never through a symlink that was
 * swapped after the walk to point outside the tree. The file is opened with `O_NONBLOCK` (so
 * opening a FIFO cannot hang) and checked with `fstat` on the open descriptor (so what is read is
 * what was checked).
 */
import { constants } from "node:fs";
import { open, readlink } from "node:fs/promises";
import { TalosExtError } from "../errors.ts";
import { describeFileType, isInside } from "./fs-walk.ts";

/** Default cap on one input file of a tree (Pkgfile, vars.yaml, pkg.yaml, *.tmpl): 64 MiB. */
export const DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** Options of {@link readRegularFile}. */
export interface ReadRegularFileOptions {
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
 * Reads a regular file whole. Throws TalosExtError: `LOAD_NOT_REGULAR_FILE` (FIFO, device, socket,
 * directory), `LOAD_FILE_TOO_LARGE`, `LOAD_SYMLINK_ESCAPE` (resolved outside `rootReal`); other
 * failures (missing, permissions) are rethrown as they are.
 */
export async function readRegularFile(abs: string, options: ReadRegularFileOptions): Promise<Uint8Array> {
  const max = options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const handle = await open(abs, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegularFile(options.file, describeFileType(st));
    if (options.rootReal !== undefined) await checkInside(handle.fd, options.rootReal, options.file);
    if (st.size > max) throw tooLarge(options.file, st.size, max);
    // Read at most max + 1 bytes whatever fstat said: a file that grows while read stays bounded.
    let buf = Buffer.allocUnsafe(Math.min(st.size, max) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > max) throw tooLarge(options.file, length, max);
      if (length === buf.length) {
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, max + 1));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
    }
    return buf.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/** Where the open descriptor really points (Linux `/proc`); skipped where `/proc` is absent. */
async function checkInside(fd: number, rootReal: string, file: string): Promise<void> {
  let target: string;
  try {
    target = await readlink(`/proc/self/fd/${fd}`);
  } catch {
    return;
  }
  if (target.startsWith("/") && !isInside(rootReal, target)) {
    throw new TalosExtError({
      code: "LOAD_SYMLINK_ESCAPE",
      message: `"${file}" is a symlink that points outside the tree`,
      hint: "a build only sees files inside the build context; copy the file into the tree instead of linking it",
      location: { file },
    });
  }
}

function tooLarge(file: string, size: number, max: number): TalosExtError {
  return new TalosExtError({
    code: "LOAD_FILE_TOO_LARGE",
    message: `"${file}" is larger than ${max} bytes (${size} or more)`,
    hint: "bldr tree files are small text files; check that this is the file you meant",
    location: { file },
  });
}
