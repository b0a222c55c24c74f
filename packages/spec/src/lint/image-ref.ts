/**
 * Splits a docker image reference far enough to judge how well it pins its content:
 * by digest, by tag only, or not at all (an implicit `:latest`).
 */
export interface ImageRefPinning {
  name: string;
  tag?: string;
  digest?: string;
}

/** Splits an image reference into name, tag and digest, enough to judge how well it is pinned. */
export function splitImageRef(ref: string): ImageRefPinning {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  // A colon after the last slash is a tag; one before it belongs to a registry port.
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  let tag: string | undefined;
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const out: ImageRefPinning = { name: rest };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}
