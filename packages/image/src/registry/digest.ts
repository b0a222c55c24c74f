import { createHash } from "node:crypto";
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

/** `<algorithm>:<hex>` of `bytes` (default sha256), as registries name content. */
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
