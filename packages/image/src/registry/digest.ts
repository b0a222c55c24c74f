import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { registryError } from "./errors.ts";

export type DigestAlgorithm = "sha256" | "sha512";

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Parses `sha256:<64 hex>` (or sha512); only algorithms we can verify are accepted. */
export function parseDigest(digest: string): ParsedDigest {
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(digest);
  const algorithm = m?.[1] as DigestAlgorithm | undefined;
  if (!m || !algorithm || !(algorithm in HEX_LENGTH) || m[2]!.length !== HEX_LENGTH[algorithm]) {
    throw registryError(
      "REGISTRY_BAD_DIGEST",
      `invalid digest "${digest.slice(0, 140)}"`,
      "a digest is sha256:<64 lowercase hex> (or sha512:<128 lowercase hex>)",
    );
  }
  return { algorithm, hex: m[2]! };
}

export function isDigest(value: string): boolean {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

export function mismatch(what: string, expected: string, actual: string, hint?: string) {
  return registryError(
    "REGISTRY_DIGEST_MISMATCH",
    `${what}: expected ${expected}, got ${actual}`,
    hint ??
      "the content changed in transit or in storage; retry, and if it persists the registry's copy is corrupt: push it again",
  );
}

/**
 * Passes bytes through while hashing them; fails the stream at its end if the digest or the
 * expected size does not match, and early if more bytes than expected arrive.
 */
export class DigestVerifier extends Transform {
  readonly #hash: Hash;
  readonly #expected: string;
  readonly #size: number | undefined;
  readonly #what: string;
  bytes = 0;

  constructor(expected: string, what: string, size?: number) {
    super();
    this.#expected = expected;
    this.#hash = createHash(parseDigest(expected).algorithm);
    this.#size = size;
    this.#what = what;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.#size !== undefined && this.bytes > this.#size) {
      done(mismatch(`${this.#what} is larger than its descriptor`, `${this.#size} bytes`, `more`));
      return;
    }
    this.#hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.#size !== undefined && this.bytes !== this.#size) {
      done(mismatch(`${this.#what} has the wrong size`, `${this.#size} bytes`, `${this.bytes} bytes`));
      return;
    }
    const actual = `${parseDigest(this.#expected).algorithm}:${this.#hash.digest("hex")}`;
    done(actual === this.#expected ? null : mismatch(`${this.#what} digest`, this.#expected, actual));
  }
}
