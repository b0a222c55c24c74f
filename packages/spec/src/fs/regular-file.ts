/**
 * Reading files that come from someone else: regular files only (a FIFO would block the open, a
 * device such as /dev/zero never ends), optionally never through a final symlink or never outside
 * a root, and never more than a cap. The one implementation for the tree loader, the lints and
 * the OCI layout / extension readers; each maps `RegularFileError` to its own coded error.
 */
import { constants, type Stats } from "node:fs";
import { type FileHandle, open, readlink } from "node:fs/promises";
import { sep } from "node:path";

/** Why `openRegularFile` / `readRegularFile` refused a file. */
export type RegularFileProblem =
  | "missing"
  | "symlink"
  | "not-regular"
  | "too-large"
  | "escape"
  | "unreadable";

/** A refusal from `openRegularFile` / `readRegularFile`; callers turn it into their coded error. */
export class RegularFileError extends Error {
  /** What was wrong with the file. */
  readonly problem: RegularFileProblem;
  /** The file's size when known (for `too-large`). */
  readonly size: number | undefined;
  /** What the file is, for `not-regular` ("a FIFO (named pipe)", "a character device", …). */
  readonly what: string | undefined;
  constructor(
    problem: RegularFileProblem,
    message: string,
    options: {
      /** The file's size, when known (for `too-large`): becomes {@link RegularFileError.size}. */
      size?: number;
      /** What the file is (for `not-regular`): becomes {@link RegularFileError.what}. */
      what?: string;
      /** The error from the file system behind the refusal, kept as the error's `cause`. */
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RegularFileError";
    this.problem = problem;
    this.size = options.size;
    this.what = options.what;
  }
}

/** Options of {@link openRegularFile} and {@link readRegularFile}. */
export interface RegularFileOptions {
  /**
   * Follow a final symlink (default false: a symlink is refused with problem `symlink`). The
   * tree loader follows in-tree symlinks, as bldr does; blob readers never do.
   */
  followSymlinks?: boolean;
  /** Real path of a directory the opened file must resolve inside (problem `escape` otherwise). */
  insideRoot?: string;
}

/** What a file is, for messages ("a FIFO (named pipe)", "a character device", …). */
export function describeFileType(s: Stats): string {
  if (s.isFile()) return "a regular file";
  if (s.isDirectory()) return "a directory";
  if (s.isFIFO()) return "a FIFO (named pipe)";
  if (s.isCharacterDevice()) return "a character device";
  if (s.isBlockDevice()) return "a block device";
  if (s.isSocket()) return "a socket";
  if (s.isSymbolicLink()) return "a symlink";
  return "not a regular file";
}

/** Whether `target` (a real path) is `rootReal` or below it. */
export function isInsideDir(rootReal: string, target: string): boolean {
  return target === rootReal || target.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep);
}

// O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, forever. It changes
// nothing for regular files, which are all we go on to read. O_NOCTTY: a terminal device never
// becomes our controlling terminal before fstat refuses it.
const BASE_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * Opens `file` if it is a regular file (not a FIFO, device, socket or directory; not a symlink
 * unless `followSymlinks`). Returns the handle and the size `fstat` saw on the open descriptor,
 * so what is read is what was checked. The caller closes the handle.
 */
export async function openRegularFile(
  file: string,
  options: RegularFileOptions = {},
): Promise<{
  /** The open file, read-only; the caller closes it. */
  handle: FileHandle;
  /** The file's size in bytes, as `fstat` saw it on the open descriptor. */
  size: number;
}> {
  let handle: FileHandle;
  try {
    handle = await open(file, options.followSymlinks ? BASE_FLAGS : BASE_FLAGS | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new RegularFileError("missing", `${file} does not exist`, { cause: e });
    if (code === "ELOOP") throw new RegularFileError("symlink", `${file} is a symlink`, { cause: e });
    throw new RegularFileError("unreadable", `cannot open ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      const what = describeFileType(st);
      throw new RegularFileError("not-regular", `${file} is ${what}`, { what });
    }
    if (options.insideRoot !== undefined) await checkInside(handle.fd, options.insideRoot, file);
    return { handle, size: st.size };
  } catch (e) {
    await handle.close();
    throw e;
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
  if (target.startsWith("/") && !isInsideDir(rootReal, target))
    throw new RegularFileError("escape", `${file} resolves outside ${rootReal}`);
}

/**
 * The bytes of a regular file of at most `max` bytes. Never reads more than `max + 1` bytes, so a
 * file that grows while it is read is refused too, and memory stays bounded by `max`.
 */
export async function readRegularFile(
  file: string,
  max: number,
  options: RegularFileOptions = {},
): Promise<Uint8Array> {
  const { handle, size } = await openRegularFile(file, options);
  try {
    if (size > max)
      throw new RegularFileError("too-large", `${file} has ${size} bytes, more than ${max}`, { size });
    // Start from what fstat said but grow as needed: fstat may under-report (procfs says 0).
    let out = Buffer.allocUnsafe(Math.min(size, max) + 1);
    let at = 0;
    for (;;) {
      const { bytesRead } = await handle.read(out, at, out.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
      if (at > max)
        throw new RegularFileError("too-large", `${file} has more than ${max} bytes`, { size: at });
      if (at === out.length) {
        const bigger = Buffer.allocUnsafe(Math.min(out.length * 2, max + 1));
        out.copy(bigger, 0, 0, at);
        out = bigger;
      }
    }
    return out.subarray(0, at);
  } finally {
    await handle.close();
  }
}

/** The chunks of a regular file (see `openRegularFile`), optionally `length` bytes from `start`. */
export async function* regularFileChunks(
  file: string,
  range?: {
    /** Offset of the first byte to read. */
    start: number;
    /** How many bytes to read from `start` (0 reads nothing). */
    length: number;
  },
): AsyncGenerator<Uint8Array> {
  const { handle } = await openRegularFile(file);
  try {
    if (range && range.length === 0) return;
    const streamOptions = range
      ? { start: range.start, end: range.start + range.length - 1, autoClose: false }
      : { autoClose: false };
    for await (const chunk of handle.createReadStream(streamOptions)) yield chunk as Uint8Array;
  } finally {
    await handle.close();
  }
}
