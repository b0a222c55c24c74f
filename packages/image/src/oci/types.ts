import type { Platform } from "@talos-ext/spec";

// The platforms extensions are built for: spec's one definition, re-used here.
export type { Platform };

/** One thing to put in a layer. Paths are posix, relative to the image root, no leading "/". */
export interface FsEntry {
  /** Path relative to the image root (posix, no leading `/`). */
  path: string;
  /** What the entry is; a hardlink's data is its target's. */
  type: "file" | "dir" | "symlink" | "hardlink";
  /** Permission bits (including setuid/setgid/sticky); the file type bits are ignored. */
  mode: number;
  /** Required for files whose `open` returns a stream; checked against what the stream yields. */
  size?: number;
  /** Symlink target (as stored), or for hardlinks the path of the file it links to. */
  linkTarget?: string;
  /** File contents. Called once, when the layer is written. */
  open?: () => NodeJS.ReadableStream | Uint8Array;
}

/** How layers are compressed when written. */
export type LayerCompression = "gzip" | "zstd";

/** How layers are written: compression, timestamps and level, all part of the output's identity. */
export interface LayerOptions {
  /** Default "gzip". */
  compression?: LayerCompression;
  /** Every entry's mtime, in seconds since the Unix epoch. */
  sourceDateEpoch: number;
  /** Compression level; defaults to 6 (gzip) or 3 (zstd). Part of the output's identity. */
  level?: number;
}

/** A layer as the manifest and config record it. */
export interface LayerDescriptor {
  /** "sha256:<hex>" of the compressed blob. */
  digest: string;
  /** Compressed size in bytes. */
  size: number;
  /** "sha256:<hex>" of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: string;
  /** The layer media type (gzip or zstd tar). */
  mediaType: string;
}

/** One platform's image for {@link writeOciLayout}: layers and config labels. */
export interface ImageInput {
  /** The platform the image is for (its manifest's platform in the index). */
  platform: Platform;
  /** Bottom layer first. A string is a directory walked with `collectTree`. */
  layers: (FsEntry[] | string)[];
  /** The image config's `config.Labels` (the Pkgfile labels). */
  labels?: Record<string, string>;
}
