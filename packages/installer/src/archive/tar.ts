/**
 * Small tar archives in memory (docker-archive members, artifacts layers, test fixtures),
 * written with spec's one header encoder.
 */
import { END_OF_ARCHIVE, entryHeader, padding } from "@talos-ext/spec";

/** One regular file (or directory, with `dir`) of an archive. */
export interface TarFile {
  /** Relative path, no leading `/` or `./`. */
  path: string;
  /** File content; empty for directories. */
  data?: Uint8Array | string;
  /** Permission bits; default 0o644 (0o755 for directories). */
  mode?: number;
  /** A directory entry. */
  dir?: boolean;
  /** Seconds since the epoch; default 0. */
  mtime?: number;
}

/** The archive bytes, members in the given order. */
export function tarArchive(files: readonly TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const data =
      f.data === undefined
        ? Buffer.alloc(0)
        : typeof f.data === "string"
          ? Buffer.from(f.data, "utf8")
          : Buffer.from(f.data);
    const type = f.dir ? "dir" : "file";
    parts.push(
      ...entryHeader(
        { path: f.path, type, mode: f.mode ?? (f.dir ? 0o755 : 0o644) },
        f.dir ? 0 : data.length,
        f.mtime ?? 0,
      ),
    );
    if (!f.dir) {
      parts.push(data, padding(data.length));
    }
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}
