/**
 * Pushes the imager's docker-archive (`installer-<arch>.tar`) with image's registry client, as
 * `crane push` does: config and gzip layers uploaded as stored, a Docker schema-2 manifest
 * synthesized (field order as crane writes it, so digests match crane's), and, for several
 * arches, the per-arch manifests joined in one OCI index under the tag.
 */
import { createHash } from "node:crypto";
import {
  DOCKER_MANIFEST,
  OCI_INDEX,
  parseReference,
  RegistryClient,
  type RegistryClientOptions,
} from "@talos-ext/image";
import { installerError } from "../codes.ts";
import { openImageSource } from "../inspect/sources.ts";

const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_LAYER_PLAIN = "application/vnd.docker.image.rootfs.diff.tar";

/** One pushed image. */
export interface PushedArchive {
  /** Architecture from the image config. */
  arch: string;
  /** Manifest digest. */
  digest: string;
  /** `<registry>/<repo>@<digest>`. */
  ref: string;
  /** The manifest size in bytes. */
  size: number;
}

/** Options of the push functions. */
export interface PushArchiveOptions extends RegistryClientOptions {
  /** A client to reuse. */
  client?: RegistryClient;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function digestStream(
  source: AsyncIterable<Uint8Array>,
): Promise<{ digest: string; size: number; gzip: boolean }> {
  const h = createHash("sha256");
  let size = 0;
  let head: number[] = [];
  for await (const c of source) {
    if (head.length < 2) head = [...head, ...c.subarray(0, 2 - head.length)];
    h.update(c);
    size += c.length;
  }
  return { digest: `sha256:${h.digest("hex")}`, size, gzip: head[0] === 0x1f && head[1] === 0x8b };
}

/**
 * Pushes one docker-archive to `ref`; with `byDigest` the manifest is put by digest only (for
 * an index), otherwise under the reference's tag.
 */
export async function pushDockerArchive(
  file: string,
  ref: string,
  options: PushArchiveOptions & {
    /** Put the manifest by digest only, untagged (an arch's image before the index is tagged); default false. */
    byDigest?: boolean;
  } = {},
): Promise<PushedArchive> {
  const src = await openImageSource(file);
  if (src.kind !== "docker-archive" || !src.configBytes) {
    throw installerError(
      "INSTALLER_PUSH_INVALID",
      `${file} is not a docker-archive`,
      "push the imager's installer-<arch>.tar",
    );
  }
  const client = options.client ?? new RegistryClient(options);
  const r = parseReference(ref);
  const config = src.configBytes;
  const configDigest = sha256(config);
  await client.pushBlob(
    r,
    { digest: configDigest, size: config.length, mediaType: DOCKER_CONFIG },
    () => config,
  );
  const layers: { mediaType: string; size: number; digest: string }[] = [];
  for (const layer of src.layers) {
    const { digest, size, gzip } = await digestStream(layer.open() as AsyncIterable<Uint8Array>);
    // ggcr writes gzip layers; `docker save` writes plain tars, pushed as such (not recompressed).
    const mediaType = gzip ? DOCKER_LAYER : DOCKER_LAYER_PLAIN;
    // ggcr names layers after their compressed digest: a mismatch is a damaged archive.
    if (/^[0-9a-f]{64}\.tar\.gz$/.test(layer.id) && `sha256:${layer.id.slice(0, 64)}` !== digest) {
      throw installerError(
        "INSTALLER_PUSH_INVALID",
        `${file}: layer ${layer.id} hashes to ${digest}`,
        "the archive is damaged; build it again",
      );
    }
    // docker-archive layers open as file read streams (a byte range of the tar).
    await client.pushBlob(r, { digest, size, mediaType }, () => layer.open() as NodeJS.ReadableStream);
    layers.push({ mediaType, size, digest });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: config.length, digest: configDigest },
      layers,
    }),
  );
  const digest = sha256(manifest);
  const target = options.byDigest ? `${r.registry}/${r.repository}@${digest}` : ref;
  await client.putManifest(target, manifest, DOCKER_MANIFEST);
  const arch = typeof src.config.architecture === "string" ? src.config.architecture : "unknown";
  return { arch, digest, ref: `${r.registry}/${r.repository}@${digest}`, size: manifest.length };
}

/** Pushes one archive per arch and joins them in one OCI index under `ref`'s tag. */
export async function pushInstallerArchives(
  files: readonly string[],
  ref: string,
  options: PushArchiveOptions = {},
): Promise<{
  /** Digest of what `ref`'s tag now names: the index, or the one image's manifest when one archive was given. */
  digest: string;
  /** `<registry>/<repo>@<digest>`. */
  ref: string;
  /** Every archive pushed, in the order given. */
  images: PushedArchive[];
}> {
  const client = options.client ?? new RegistryClient(options);
  if (files.length === 0)
    throw installerError("INSTALLER_PUSH_INVALID", "no archive to push", "build at least one arch");
  if (files.length === 1) {
    const one = await pushDockerArchive(files[0] as string, ref, { ...options, client });
    return { digest: one.digest, ref: one.ref, images: [one] };
  }
  const images: PushedArchive[] = [];
  for (const f of files) images.push(await pushDockerArchive(f, ref, { ...options, client, byDigest: true }));
  const arches = images.map((i) => i.arch);
  if (new Set(arches).size !== arches.length) {
    throw installerError(
      "INSTALLER_PUSH_INVALID",
      `two archives for one arch (${arches.join(", ")})`,
      "pass one archive per arch",
    );
  }
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: images.map((i) => ({
        mediaType: DOCKER_MANIFEST,
        digest: i.digest,
        size: i.size,
        platform: { os: "linux", architecture: i.arch },
      })),
    }),
  );
  const digest = await client.putManifest(ref, index, OCI_INDEX);
  const r = parseReference(ref);
  return { digest, ref: `${r.registry}/${r.repository}@${digest}`, images };
}
