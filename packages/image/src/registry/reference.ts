import { parseDigest } from "./digest.ts";
import { registryError } from "./errors.ts";

/** An image reference, normalised the way docker does (`alpine` is `docker.io/library/alpine:latest`). */
export interface ImageReference {
  /** `docker.io`, `ghcr.io`, `127.0.0.1:5000`, ... */
  registry: string;
  /** Path inside the registry, e.g. `library/alpine`. */
  repository: string;
  /** The tag, when the reference has one (`latest` when it has neither tag nor digest). */
  tag?: string;
  /** `sha256:<hex>`, when the reference pins a digest. */
  digest?: string;
  /** The reference written out in full, e.g. `docker.io/library/alpine:latest`. */
  toString(): string;
}

export const DOCKER_HUB = "docker.io";
/** Host that serves Docker Hub's registry API. */
export const DOCKER_HUB_API = "registry-1.docker.io";

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_RE = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const MAX_NAME = 255;
/** `algorithm:encoded`, the shape of any digest (an encoded part of 32+ characters; valid or not), as opposed to `host/repo`. */
const DIGEST_SHAPE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

function bad(ref: string, why: string, hint: string): never {
  throw registryError(
    "REGISTRY_BAD_REFERENCE",
    `invalid image reference "${ref.slice(0, 300)}": ${why}`,
    hint,
  );
}

const FORMAT_HINT = "write [registry[:port]/]repository[:tag][@sha256:<hex>], e.g. 127.0.0.1:5000/ext/foo:v1";

function make(registry: string, repository: string, tag?: string, digest?: string): ImageReference {
  const ref: ImageReference = {
    registry,
    repository,
    toString() {
      return `${registry}/${repository}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
    },
  };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/**
 * Parses a reference by docker's rules: the first path component is a registry only if it has a
 * `.` or `:`, is `localhost`, or has upper case; otherwise the registry is docker.io and
 * single-component names get `library/`. Without tag and digest the tag is `latest`.
 */
export function parseReference(input: string): ImageReference {
  const ref = input.trim();
  if (ref === "") bad(input, "it is empty", FORMAT_HINT);
  if (/\s/.test(ref)) bad(input, "it contains whitespace", FORMAT_HINT);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) {
    bad(
      input,
      "it has a URL scheme",
      "drop the scheme (docker://, https://): use host[:port]/repository[:tag]",
    );
  }

  // `user:password@host/repo`: user info has no place in a reference. The error never repeats
  // the input, which holds the secret.
  const at0 = ref.indexOf("@");
  const before = at0 >= 0 ? ref.slice(0, at0) : "";
  const after = at0 >= 0 ? ref.slice(at0 + 1) : "";
  if (
    at0 >= 0 &&
    !before.includes("/") &&
    !DIGEST_SHAPE.test(after) &&
    (before.includes(":") || after.includes("/"))
  ) {
    throw registryError(
      "REGISTRY_BAD_REFERENCE",
      "the image reference carries credentials (user:password@ before the registry); it is not repeated here",
      "remove the user info from the reference and log in instead (`docker login <registry>`, or the credentials option); rotate the password if it was shared",
    );
  }

  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch {
      bad(input, `"${digest.slice(0, 140)}" is not a supported digest`, "use @sha256:<64 lowercase hex>");
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) {
      bad(
        input,
        `"${tag.slice(0, 140)}" is not a valid tag`,
        "tags are 1-128 of [A-Za-z0-9_.-], not starting with . or -",
      );
    }
  }

  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      first.includes(".") ||
      first.includes(":") ||
      first === "localhost" ||
      first !== first.toLowerCase()
    ) {
      registry = first;
      repository = rest.slice(slash + 1);
      if (!DOMAIN_RE.test(registry)) bad(input, `"${registry}" is not a valid registry host`, FORMAT_HINT);
    }
  }
  if (registry === "index.docker.io") registry = DOCKER_HUB;
  if (repository === "") bad(input, "the repository is empty", FORMAT_HINT);
  if (registry === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;

  for (const part of repository.split("/")) {
    if (!PATH_COMPONENT_RE.test(part)) {
      const why =
        part !== part.toLowerCase()
          ? `repository "${repository}" must be lowercase`
          : `"${part}" is not a valid repository path component`;
      bad(input, why, "repository components are lowercase [a-z0-9] separated by '.', '_', '__' or '-'");
    }
  }
  if (repository.length > MAX_NAME)
    bad(input, `the repository is longer than ${MAX_NAME} characters`, FORMAT_HINT);

  if (tag === undefined && digest === undefined) tag = "latest";
  return make(registry, repository, tag, digest);
}

/** A reference to other content in the same repository (e.g. a child manifest by digest). */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  return make(ref.registry, ref.repository, undefined, digest);
}

export function toReference(ref: ImageReference | string): ImageReference {
  return typeof ref === "string" ? parseReference(ref) : ref;
}
