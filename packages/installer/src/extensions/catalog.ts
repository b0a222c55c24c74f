/**
 * The official extension catalog of a Talos release: `image-digests` (lines
 * `ghcr.io/siderolabs/<name>:<tag>@sha256:<hex>`) and `descriptions.yaml` (a map keyed by those
 * whole lines, `{author, description}`) inside `ghcr.io/siderolabs/extensions:<tag>`, read the
 * way the Image Factory reads them (image-factory `internal/artifacts/versions.go`).
 */
import {
  type ImageReference,
  parseReference,
  RegistryClient,
  type RegistryClientOptions,
} from "@talos-ext/image";
import {
  decodeYaml,
  didYouMean,
  OCI_TAR_CODES,
  parsePlatform,
  platformMatches,
  readTar,
  TalosExtError,
} from "@talos-ext/spec";
import { installerError } from "../codes.ts";
import { extensionNameAlias } from "../schematic/aliases.ts";
import { type ExtensionSetEntry, extensionEntry } from "./model.ts";

/** The catalog image the factory reads. */
export const DEFAULT_CATALOG_IMAGE = "ghcr.io/siderolabs/extensions";

/** One official extension of a release. */
export interface OfficialExtension {
  /** Repository path: the schematic name (`siderolabs/iscsi-tools`). */
  repository: string;
  /** Last path component: the manifest name nodes show (`iscsi-tools`). */
  name: string;
  /** Image tag (`v0.2.0`). */
  tag: string;
  /** Manifest digest. */
  digest: string;
  /** Pinned reference (`ghcr.io/siderolabs/iscsi-tools:v0.2.0@sha256:...`). */
  image: string;
  /** From descriptions.yaml. */
  author?: string;
  /** From descriptions.yaml. */
  description?: string;
}

/** A release's catalog with the factory's name lookup. */
export interface OfficialCatalog {
  /** The catalog image tag (a Talos version such as `v1.11.2`). */
  tag?: string;
  /** Every extension, in `image-digests` order. */
  extensions: OfficialExtension[];
  /**
   * Finds an extension by schematic name (`siderolabs/x`, alias table applied as the factory
   * does), or by bare manifest name (`x`, as nodes show it).
   */
  find(name: string): OfficialExtension | undefined;
  /** The closest known name for a "did you mean" hint. */
  suggest(name: string): string | undefined;
}

const LINE_RE = /^([^\s@:]+(?::[0-9]+)?\/(?:[^\s@:]+\/)*[^\s@:]+):([\w][\w.-]{0,127})@(sha256:[0-9a-f]{64})$/;
const MAX_FILE = 16 * 1024 * 1024;

function repositoryOf(ref: string): string {
  try {
    return parseReference(ref).repository;
  } catch {
    return ref.slice(ref.indexOf("/") + 1);
  }
}

/** Builds a catalog from the two files' text (`descriptions` optional, as for the factory). */
export function parseCatalog(imageDigests: string, descriptions?: string, tag?: string): OfficialCatalog {
  const extensions: OfficialExtension[] = [];
  let described: Record<string, unknown> = {};
  if (descriptions !== undefined && descriptions.trim() !== "") {
    let doc: unknown;
    try {
      doc = decodeYaml(descriptions, { file: "descriptions.yaml", maxBytes: MAX_FILE }).value;
    } catch (e) {
      throw installerError(
        "EXTSET_CATALOG_INVALID",
        `descriptions.yaml: ${(e as Error).message}`,
        "check the catalog image tag",
        {
          cause: e,
        },
      );
    }
    if (doc !== null && (typeof doc !== "object" || Array.isArray(doc))) {
      throw installerError(
        "EXTSET_CATALOG_INVALID",
        "descriptions.yaml is not a mapping",
        "check the catalog image tag",
      );
    }
    described = (doc ?? {}) as Record<string, unknown>;
  }
  imageDigests.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    // The factory skips lines without "@" (blank lines, comments).
    if (!line.includes("@")) return;
    const m = LINE_RE.exec(line);
    if (!m) {
      throw installerError(
        "EXTSET_CATALOG_INVALID",
        `image-digests line ${i + 1} is not <registry>/<repository>:<tag>@sha256:<hex>`,
        "check the catalog image tag",
        { location: { file: "image-digests", line: i + 1 } },
      );
    }
    const ref = m[1] as string;
    const repository = repositoryOf(`${ref}:${m[2]}`);
    const ext: OfficialExtension = {
      repository,
      name: repository.slice(repository.lastIndexOf("/") + 1),
      tag: m[2] as string,
      digest: m[3] as string,
      image: line,
    };
    const d = described[line] as Record<string, unknown> | undefined;
    if (d && typeof d === "object") {
      if (typeof d.author === "string") ext.author = d.author;
      if (typeof d.description === "string") ext.description = d.description;
    }
    extensions.push(ext);
  });
  if (extensions.length === 0) {
    throw installerError(
      "EXTSET_CATALOG_INVALID",
      "image-digests lists no extension",
      "check the catalog image tag",
    );
  }
  const byRepo = new Map(extensions.map((e) => [e.repository, e]));
  const byName = new Map<string, OfficialExtension>();
  for (const e of extensions) if (!byName.has(e.name)) byName.set(e.name, e);
  const catalog: OfficialCatalog = {
    extensions,
    find(name) {
      if (name.includes("/")) {
        const direct = byRepo.get(name);
        if (direct) return direct;
        const alias = extensionNameAlias(name);
        return alias ? byRepo.get(alias) : undefined;
      }
      return byName.get(name) ?? catalog.find(`siderolabs/${name}`);
    },
    suggest(name) {
      return didYouMean(name, name.includes("/") ? byRepo.keys() : byName.keys());
    },
  };
  if (tag !== undefined) catalog.tag = tag;
  return catalog;
}

/** A catalog extension as a set entry (origin `official`). */
export function officialEntry(ext: OfficialExtension): ExtensionSetEntry {
  return extensionEntry({
    name: ext.name,
    image: ext.image,
    version: ext.tag,
    origin: "official",
    officialName: ext.repository,
    ...(ext.author !== undefined ? { author: ext.author } : {}),
    ...(ext.description !== undefined ? { description: ext.description } : {}),
  });
}

/** Options of {@link readOfficialCatalog}. */
export interface ReadCatalogOptions extends RegistryClientOptions {
  /** Catalog repository; default `ghcr.io/siderolabs/extensions`. */
  image?: string;
  /** A client to reuse (its options win). */
  client?: RegistryClient;
}

/**
 * Pulls `ghcr.io/siderolabs/extensions:<tag>` (linux/amd64 from an index, as the factory does),
 * reads its layers in order with spec's tar reader (later layers win, whiteouts honoured) and
 * returns the catalog. Streamed: only the two small files are kept.
 */
export async function readOfficialCatalog(
  tag: string,
  options: ReadCatalogOptions = {},
): Promise<OfficialCatalog> {
  const base = options.image ?? DEFAULT_CATALOG_IMAGE;
  const client = options.client ?? new RegistryClient(options);
  const ref: ImageReference = parseReference(`${base}:${tag}`);
  let top: { body: Uint8Array; mediaType: string; digest: string };
  try {
    top = await client.getManifest(ref);
  } catch (e) {
    if (e instanceof TalosExtError && e.code === "REGISTRY_NOT_FOUND") {
      throw installerError(
        "EXTSET_CATALOG_INVALID",
        `no catalog image ${ref}`,
        "the tag must be a Talos release such as v1.11.2",
        {
          cause: e,
        },
      );
    }
    throw e;
  }
  let manifest = JSON.parse(Buffer.from(top.body).toString("utf8")) as {
    manifests?: { digest: string; platform?: { os: string; architecture: string; variant?: string } }[];
    layers?: { digest: string; size: number }[];
  };
  if (Array.isArray(manifest.manifests)) {
    const want = parsePlatform("linux/amd64");
    const pick = manifest.manifests.find((m) => m.platform && platformMatches(want, m.platform));
    if (!pick)
      throw installerError(
        "EXTSET_CATALOG_INVALID",
        `${ref} has no linux/amd64 image`,
        "check the catalog image",
      );
    const child = await client.getManifest(`${ref.registry}/${ref.repository}@${pick.digest}`);
    manifest = JSON.parse(Buffer.from(child.body).toString("utf8"));
  }
  if (!Array.isArray(manifest.layers))
    throw installerError("EXTSET_CATALOG_INVALID", `${ref} is not an image`, "check the catalog image");
  const files = new Map<string, string>();
  for (const layer of manifest.layers) {
    const stream = await client.fetchBlobStream(ref, layer.digest, layer.size);
    for await (const entry of readTar(stream, { source: `${ref}@${layer.digest}`, codes: OCI_TAR_CODES })) {
      const base = entry.path.slice(entry.path.lastIndexOf("/") + 1);
      const dir = entry.path.slice(0, entry.path.lastIndexOf("/") + 1);
      if (base.startsWith(".wh.")) {
        files.delete(dir + base.slice(4));
        continue;
      }
      if ((entry.path === "image-digests" || entry.path === "descriptions.yaml") && entry.type === "file") {
        if (entry.size > MAX_FILE) {
          throw installerError(
            "EXTSET_CATALOG_INVALID",
            `${entry.path} in ${ref} is over 16 MiB`,
            "check the catalog image",
          );
        }
        files.set(entry.path, Buffer.from(await entry.bytes()).toString("utf8"));
      }
    }
  }
  const digests = files.get("image-digests");
  if (digests === undefined) {
    throw installerError(
      "EXTSET_CATALOG_INVALID",
      `${ref} has no image-digests file`,
      "check the catalog image tag",
    );
  }
  return parseCatalog(digests, files.get("descriptions.yaml"), tag);
}
