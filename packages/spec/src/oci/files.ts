/**
 * Reading files that come from someone else: regular files only (a FIFO would block the open, a
 * device such as /dev/zero never ends), never through a final symlink, and never more than a cap.
 */
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

/** Why `openRegularFile` / `readRegularFile` refused a file. */
export type RegularFileProblem = "missing" | "symlink" | "not-regular" | "too-large" | "unreadable";

/** A refusal from `openRegularFile` / `readRegularFile`; callers turn it into their coded error. */
export class RegularFileError extends Error {
  /** What was wrong with the file. */
  readonly problem: RegularFileProblem;
  /** The file's size when known (for `too-large`). */
  readonly size: number | undefined;
  constructor(
    problem: RegularFileProblem,
    message: string,
    options: { size?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RegularFileError";
    this.problem = problem;
    this.size = options.size;
  }
}

// O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, forever. It changes
// nothing for regular files, which are all we go on to read.
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens `file` if it is a regular file (not a symlink, FIFO, device, socket or directory).
 * Returns the handle and the size `fstat` saw. The caller closes the handle.
 */
export async function openRegularFile(file: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(file, FLAGS);
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
      const what = st.isFIFO()
        ? "a FIFO"
        : st.isCharacterDevice() || st.isBlockDevice()
          ? "a device"
          : st.isDirectory()
            ? "a directory"
            : "not a regular file";
      throw new RegularFileError("not-regular", `${file} is ${what}`);
    }
    return { handle, size: st.size };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/**
 * The bytes of a regular file of at most `max` bytes. Never reads more than `max + 1` bytes, so a
 * file that grows while it is read is refused too.
 */
export async function readRegularFile(file: string, max: number): Promise<Uint8Array> {
  const { handle, size } = await openRegularFile(file);
  try {
    if (size > max)
      throw new RegularFileError("too-large", `${file} has ${size} bytes, more than ${max}`, { size });
    const out = Buffer.allocUnsafe(Math.min(size, max) + 1);
    let at = 0;
    for (;;) {
      const { bytesRead } = await handle.read(out, at, out.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
      if (at > max)
        throw new RegularFileError("too-large", `${file} has more than ${max} bytes`, { size: at });
      if (at === out.length) break;
    }
    return out.subarray(0, at);
  } finally {
    await handle.close();
  }
}

/** The chunks of a regular file (see `openRegularFile`), optionally `length` bytes from `start`. */
export async function* regularFileChunks(
  file: string,
  range?: { start: number; length: number },
): AsyncGenerator<Uint8Array> {
  const { handle } = await openRegularFile(file);
  try {
    if (range && range.length === 0) return;
    const options = range
      ? { start: range.start, end: range.start + range.length - 1, autoClose: false }
      : { autoClose: false };
    for await (const chunk of handle.createReadStream(options)) yield chunk as Uint8Array;
  } finally {
    await handle.close();
  }
}
