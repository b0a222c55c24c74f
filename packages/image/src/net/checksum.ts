/**
 * Checksums while bytes stream by: one pass computes every requested digest, enforces the
 * expected size (early, as soon as one byte too many arrives) and verifies at the end. The one
 * hashing stream for downloads, used by the download primitive and by registry blob streams.
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import type { DownloadErrorMap } from "./faults.ts";

/** Algorithms we hash with. */
export type ChecksumAlgorithm = "sha256" | "sha512";

/** Expected digests as lowercase hex, by algorithm. */
export type Checksums = Partial<Record<ChecksumAlgorithm, string>>;

/** What `ChecksumStream` checks. */
export interface ChecksumStreamOptions {
  /** Digests to verify at the end (each is also computed). */
  expect?: Checksums | undefined;
  /** Extra digests to compute without verifying (e.g. to learn a new file's checksums). */
  compute?: readonly ChecksumAlgorithm[] | undefined;
  /** Exact size the body must have. */
  size?: number | undefined;
  /** Refuse bodies larger than this (a budget when the size is not known). */
  maxBytes?: number | undefined;
  /** Shown in faults. */
  url: string;
  /** Turns a size or digest fault into the caller's coded error. */
  errors: DownloadErrorMap;
}

/** A pass-through Transform that hashes, counts and verifies; fails the stream on a mismatch. */
export class ChecksumStream extends Transform {
  readonly #hashes = new Map<ChecksumAlgorithm, Hash>();
  readonly #options: ChecksumStreamOptions;
  /** Bytes seen so far. */
  bytes = 0;
  /** The computed digests (hex), once the stream ended without a mismatch. */
  readonly digests: Checksums = {};

  constructor(options: ChecksumStreamOptions) {
    super();
    this.#options = options;
    const algorithms = new Set<ChecksumAlgorithm>([
      ...(Object.keys(options.expect ?? {}) as ChecksumAlgorithm[]),
      ...(options.compute ?? []),
    ]);
    for (const a of algorithms) this.#hashes.set(a, createHash(a));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    const { size, maxBytes } = this.#options;
    const limit = size ?? maxBytes;
    if (limit !== undefined && this.bytes > limit) {
      done(this.#options.errors({ kind: "too-large", url: this.#options.url, limit }));
      return;
    }
    for (const h of this.#hashes.values()) h.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const { size, url, errors, expect = {} } = this.#options;
    if (size !== undefined && this.bytes !== size) {
      done(errors({ kind: "size", url, expected: size, actual: this.bytes }));
      return;
    }
    for (const [a, h] of this.#hashes) this.digests[a] = h.digest("hex");
    for (const [a, want] of Object.entries(expect) as [ChecksumAlgorithm, string][]) {
      const actual = this.digests[a]!;
      if (actual !== want.toLowerCase()) {
        done(errors({ kind: "checksum", url, algorithm: a, expected: want, actual, size: this.bytes }));
        return;
      }
    }
    done();
  }
}
