/**
 * Factory installer references: `<host>/installer[-secureboot]/<id>:<tag>` (legacy, metal) and
 * `<host>/<platform>-installer[-secureboot]/<id>:<tag>` (Talos >= 1.10, factory >= v0.6.8).
 * Only tags starting with `v` (and `latest`) make the factory build; a digest is proxied.
 */
import { installerError } from "../codes.ts";

/** One parsed factory installer reference. */
export interface FactoryInstallerRef {
  /** Registry host (with port), e.g. `factory.talos.dev`. */
  host: string;
  /** `metal`, `aws`, ...; `metal` for the legacy `installer` name. */
  platform: string;
  /** True for the legacy `installer[-secureboot]` repository name. */
  legacy: boolean;
  /** SecureBoot installer. */
  secureboot: boolean;
  /** 64-hex schematic ID. */
  schematicId: string;
  /** Tag: `v1.11.2` or `latest`; absent for a digest reference. */
  tag?: string;
  /** `sha256:<hex>` when the reference is by digest. */
  digest?: string;
  /** Whether the factory builds on demand for this reference (a `v` tag or `latest`). */
  builds: boolean;
}

const ID_RE = /^[0-9a-f]{64}$/;
const HOST_RE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$/;
const PLATFORM_RE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const VERSION_TAG_RE = /^v[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

function bad(ref: string, why: string, hint?: string): never {
  throw installerError(
    "INSTALLER_REF_INVALID",
    `"${ref.slice(0, 300)}" is not a factory installer reference: ${why}`,
    hint ?? "write <host>/[<platform>-]installer[-secureboot]/<64-hex schematic id>:v<X.Y.Z>",
  );
}

/** Splits an installer repository name into platform, legacy and secureboot. */
export function parseInstallerImageName(name: string):
  | {
      /** `metal`, `aws`, ...; `metal` for the legacy `installer` name. */
      platform: string;
      /** True for the legacy `installer[-secureboot]` name. */
      legacy: boolean;
      /** The name ends in `-secureboot`. */
      secureboot: boolean;
    }
  | undefined {
  const secureboot = name.endsWith("-secureboot");
  const base = secureboot ? name.slice(0, -"-secureboot".length) : name;
  if (base === "installer") return { platform: "metal", legacy: true, secureboot };
  if (!base.endsWith("-installer")) return undefined;
  const platform = base.slice(0, -"-installer".length);
  if (!PLATFORM_RE.test(platform)) return undefined;
  return { platform, legacy: false, secureboot };
}

/** Parses a factory installer reference; anything else throws `INSTALLER_REF_INVALID`. */
export function parseFactoryInstallerRef(ref: string): FactoryInstallerRef {
  const text = ref.trim();
  if (/^[a-z]+:\/\//i.test(text)) bad(ref, "it has a URL scheme", "drop https:// from the reference");
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) bad(ref, "the digest is not sha256:<64 hex>");
  }
  const parts = rest.split("/");
  if (parts.length !== 3) bad(ref, "expected exactly <host>/<image>/<schematic id>");
  const [host, image, last] = parts as [string, string, string];
  if (!HOST_RE.test(host) || !(host.includes(".") || host.includes(":") || host === "localhost")) {
    bad(ref, `"${host}" is not a registry host`);
  }
  const name = parseInstallerImageName(image);
  if (!name) {
    bad(
      ref,
      `image name "${image}" is not installer, installer-secureboot, <platform>-installer or <platform>-installer-secureboot`,
    );
  }
  let id = last;
  let tag: string | undefined;
  const colon = last.indexOf(":");
  if (colon >= 0) {
    id = last.slice(0, colon);
    tag = last.slice(colon + 1);
  }
  if (!ID_RE.test(id)) bad(ref, "the schematic ID is not 64 lowercase hex characters");
  if (tag === undefined && digest === undefined)
    bad(ref, "it has no tag", "add the Talos version, e.g. :v1.11.2");
  if (tag !== undefined && tag !== "latest" && !VERSION_TAG_RE.test(tag)) {
    bad(
      ref,
      `tag "${tag}" does not start with v<X.Y.Z>`,
      "the factory only builds tags like v1.11.2 (with the v) or latest",
    );
  }
  const out: FactoryInstallerRef = {
    host,
    ...name,
    schematicId: id,
    builds: tag !== undefined && digest === undefined,
  };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** Options of {@link formatFactoryInstallerRef}. */
export interface FactoryInstallerRefOptions {
  /** Registry host of the factory; default `factory.talos.dev`. */
  host?: string;
  /** 64-hex schematic ID. */
  schematicId: string;
  /** Talos version (`v1.11.2`; a missing `v` is added) or `latest`. */
  version: string;
  /** Platform; default `metal`. */
  platform?: string;
  /** SecureBoot installer; default false. */
  secureboot?: boolean;
  /**
   * Use the legacy `installer` name. Default: legacy for Talos < 1.10 on metal (the platform
   * names came with 1.10), `<platform>-installer` otherwise.
   */
  legacy?: boolean;
}

/** Builds a factory installer reference (validated by parsing it back). */
export function formatFactoryInstallerRef(options: FactoryInstallerRefOptions): string {
  const host = options.host ?? "factory.talos.dev";
  const platform = options.platform ?? "metal";
  const version =
    options.version === "latest" || options.version.startsWith("v") ? options.version : `v${options.version}`;
  const m = /^v(\d+)\.(\d+)\./.exec(version);
  const before110 = m ? Number(m[1]) === 1 && Number(m[2]) < 10 : false;
  const legacy = options.legacy ?? (before110 && platform === "metal");
  if (legacy && platform !== "metal") {
    throw installerError(
      "INSTALLER_REF_INVALID",
      `the legacy installer name is metal only, not ${platform}`,
      "drop legacy, or use platform metal",
    );
  }
  const image = `${legacy ? "installer" : `${platform}-installer`}${options.secureboot ? "-secureboot" : ""}`;
  const ref = `${host}/${image}/${options.schematicId}:${version}`;
  parseFactoryInstallerRef(ref);
  return ref;
}
