/**
 * Opens an installer image for inspection from one of three places, as a config plus layers
 * opened on demand (bottom first): a docker-archive (what the imager and the factory's `.tar`
 * download are: `manifest.json`, config `sha256:<hex>`, `<hex>.tar.gz` layers), an OCI layout
 * directory or archive (spec's one reader), or a registry reference (image's client).
 */
import { stat } from "node:fs/promises";
import { parseReference, RegistryClient, type RegistryClientOptions } from "@talos-ext/image";
import {
  type ByteSource,
  fileChunks,
  looksLikeOciLayout,
  type OciLayoutReader,
  openOciArchive,
  openOciLayout,
  parsePlatform,
  platformMatches,
  readTar,
  TalosExtError,
} from "@talos-ext/spec";
import { installerError } from "../codes.ts";

/** One layer, opened on demand. */
export interface SourceLayer {
  /** Digest or archive member name, for messages. */
  id: string;
  /** Stored size in bytes, when known. */
  size?: number;
  /** The layer's bytes (compressed as stored; the tar reader sniffs the compression). */
  open(): ByteSource;
}

/** An image ready for inspection. */
export interface ImageSource {
  /** What was opened, for messages. */
  name: string;
  /** `docker-archive`, `oci-layout`, `oci-archive` or `registry`. */
  kind: "docker-archive" | "oci-layout" | "oci-archive" | "registry";
  /** The image config (JSON). */
  config: Record<string, unknown>;
  /** The config's bytes as stored (docker-archive: the `sha256:<hex>` member). */
  configBytes?: Uint8Array;
  /** Layers, bottom first. */
  layers: SourceLayer[];
  /** docker-archive: `RepoTags` (the base installer's tag, not a name of this image). */
  repoTags?: string[];
}

const MAX_JSON = 4 * 1024 * 1024;

function inputError(what: string, why: string, cause?: unknown): TalosExtError {
  return installerError(
    "INSPECT_INPUT_INVALID",
    `${what}: ${why}`,
    "pass the imager's installer-<arch>.tar, an OCI layout (directory or archive), or an image reference",
    cause === undefined ? {} : { cause },
  );
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw inputError(what, "is not JSON", e);
  }
}

/** A docker-archive, read in two streamed passes: members listed, then layers by byte range. */
async function openDockerArchive(file: string): Promise<ImageSource | "oci"> {
  const members = new Map<string, { offset: number; size: number }>();
  const small = new Map<string, Uint8Array>();
  let compression = "none";
  try {
    for await (const e of readTar(fileChunks(file), {
      source: file,
      onCompression: (c) => (compression = c),
    })) {
      if (e.type !== "file") continue;
      members.set(e.path, { offset: e.dataOffset, size: e.size });
      if (
        (e.path === "manifest.json" || e.path.startsWith("sha256:") || e.path.endsWith(".json")) &&
        e.size <= MAX_JSON
      ) {
        small.set(e.path, (await e.bytes()).slice());
      }
    }
  } catch (e) {
    if (e instanceof TalosExtError) throw inputError(file, `not a readable tar (${e.code}: ${e.message})`, e);
    throw e;
  }
  if (looksLikeOciLayout(members.keys())) return "oci";
  const manifestBytes = small.get("manifest.json");
  if (!manifestBytes)
    throw inputError(file, "has no manifest.json (not a docker-archive) and no index.json/oci-layout");
  if (compression !== "none") {
    throw inputError(
      file,
      `is ${compression}-compressed`,
      "decompress it first: layers are read in place by byte range",
    );
  }
  const manifest = parseJson(manifestBytes, `${file} manifest.json`);
  if (!Array.isArray(manifest) || manifest.length !== 1) {
    throw inputError(
      file,
      `manifest.json must list exactly one image (it lists ${Array.isArray(manifest) ? manifest.length : "none"})`,
    );
  }
  const m = manifest[0] as { Config?: unknown; Layers?: unknown; RepoTags?: unknown };
  if (
    typeof m.Config !== "string" ||
    !Array.isArray(m.Layers) ||
    !m.Layers.every((l) => typeof l === "string")
  ) {
    throw inputError(file, "manifest.json entry lacks Config or Layers");
  }
  const configBytes = small.get(m.Config);
  if (!configBytes) throw inputError(file, `config ${m.Config} is missing`);
  const config = parseJson(configBytes, `${file} ${m.Config}`) as Record<string, unknown>;
  const layers = (m.Layers as string[]).map((name): SourceLayer => {
    const member = members.get(name);
    if (!member) throw inputError(file, `layer ${name} is missing`);
    return {
      id: name,
      size: member.size,
      open: () => fileChunks(file, { start: member.offset, length: member.size }),
    };
  });
  const out: ImageSource = { name: file, kind: "docker-archive", config, configBytes, layers };
  if (Array.isArray(m.RepoTags)) out.repoTags = m.RepoTags.filter((t): t is string => typeof t === "string");
  return out;
}

async function fromLayout(
  reader: OciLayoutReader,
  kind: "oci-layout" | "oci-archive",
  arch?: string,
): Promise<ImageSource> {
  const images = await reader.images();
  const platform = arch ? `linux/${arch}` : images.length === 1 ? undefined : "linux/amd64";
  const image = await reader.selectImage(platform);
  const config = await reader.readConfig(image.config);
  return {
    name: reader.source,
    kind,
    config: config.json,
    layers: image.layers.map((d) => ({ id: d.digest, open: () => reader.openBlob(d) })),
  };
}

/** Options of {@link openImageSource}. */
export interface OpenSourceOptions extends RegistryClientOptions {
  /** Architecture to pick from an index or multi-image layout (`amd64`, `arm64`). */
  arch?: string;
  /** A registry client to reuse. */
  client?: RegistryClient;
}

async function fromRegistry(ref: string, options: OpenSourceOptions): Promise<ImageSource> {
  const client = options.client ?? new RegistryClient(options);
  const r = parseReference(ref);
  let top = await client.getManifest(r);
  let json = parseJson(top.body, `${ref} manifest`) as {
    manifests?: { digest: string; platform?: { os: string; architecture: string; variant?: string } }[];
    config?: { digest: string; size: number };
    layers?: { digest: string; size: number }[];
  };
  if (Array.isArray(json.manifests)) {
    const want = parsePlatform(`linux/${options.arch ?? "amd64"}`);
    const pick =
      json.manifests.find((m) => m.platform && platformMatches(want, m.platform)) ??
      (options.arch === undefined && json.manifests.length === 1 ? json.manifests[0] : undefined);
    if (!pick) {
      const have = json.manifests
        .map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}` : "?"))
        .join(", ");
      throw inputError(ref, `has no image for linux/${options.arch ?? "amd64"} (it has ${have || "none"})`);
    }
    top = await client.getManifest(`${r.registry}/${r.repository}@${pick.digest}`);
    json = parseJson(top.body, `${ref} manifest`) as typeof json;
  }
  if (!json.config || !Array.isArray(json.layers)) throw inputError(ref, "is not an image manifest");
  const configBytes = await client.fetchBlob(r, json.config.digest, json.config.size);
  const config = parseJson(configBytes, `${ref} config`) as Record<string, unknown>;
  return {
    name: ref,
    kind: "registry",
    config,
    layers: json.layers.map((l) => ({
      id: l.digest,
      open: () =>
        (async function* () {
          yield* await client.fetchBlobStream(r, l.digest, l.size);
        })(),
    })),
  };
}

/**
 * Opens `input`: an existing directory is an OCI layout, an existing file a docker-archive or
 * OCI archive (told apart by their members), anything else an image reference.
 */
export async function openImageSource(input: string, options: OpenSourceOptions = {}): Promise<ImageSource> {
  const st = await stat(input).catch(() => undefined);
  if (st?.isDirectory()) return fromLayout(await openOciLayout(input), "oci-layout", options.arch);
  if (st?.isFile()) {
    const docker = await openDockerArchive(input);
    if (docker !== "oci") return docker;
    return fromLayout(await openOciArchive(input), "oci-archive", options.arch);
  }
  if (st) throw inputError(input, "is neither a regular file nor a directory");
  if (input.startsWith(".") || input.startsWith("/")) throw inputError(input, "does not exist");
  return fromRegistry(input, options);
}
