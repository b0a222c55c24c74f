/**
 * Image reference mirroring: `ghcr.io/siderolabs` -> `registry.internal/mirror` rewrites every
 * reference under that prefix (at a path boundary), so air-gapped builds reach the same images.
 */
import { TalosExtError } from "@talos-ext/spec";

/** An image reference rewrite: references under `prefix` (at a path boundary) go to `replacement`. */
export interface ImageMirror {
  /**
   * Registry and path to match, e.g. `ghcr.io/siderolabs`; also matched against the normalised
   * `docker.io/...` form.
   */
  prefix: string;
  /** What replaces the prefix, e.g. `registry.internal/mirror`. */
  replacement: string;
}

/** `alpine:3` -> `docker.io/library/alpine:3`, the spelling mirror prefixes are matched against. */
export function normalizeImageName(ref: string): string {
  const first = ref.split("/")[0]!;
  const hasRegistry =
    ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  if (hasRegistry) return ref;
  return ref.includes("/") ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}

/**
 * The reference `ref` becomes under the first mirror whose prefix matches it (as written, or normalised);
 * `ref` unchanged when none does.
 */
export function applyMirrors(ref: string, mirrors: readonly ImageMirror[]): string {
  for (const candidate of [ref, normalizeImageName(ref)]) {
    for (const m of mirrors) {
      const prefix = m.prefix.replace(/\/+$/, "");
      if (
        candidate === prefix ||
        candidate.startsWith(`${prefix}/`) ||
        candidate.startsWith(`${prefix}:`) ||
        candidate.startsWith(`${prefix}@`)
      ) {
        return m.replacement.replace(/\/+$/, "") + candidate.slice(prefix.length);
      }
    }
  }
  return ref;
}

/** Parses `--mirror FROM=TO` values. */
export function parseMirror(text: string): ImageMirror {
  const eq = text.indexOf("=");
  if (eq <= 0 || eq === text.length - 1) {
    throw new TalosExtError({
      code: "BUILD_BAD_MIRROR",
      message: `image mirror "${text}" is not PREFIX=REPLACEMENT`,
      hint: "example: --mirror ghcr.io/siderolabs=registry.internal/mirror",
    });
  }
  return { prefix: text.slice(0, eq), replacement: text.slice(eq + 1) };
}
