/**
 * Test helpers: small OCI image layouts written by hand (random gzip'd tar layers, a config, a
 * manifest, optionally an index over several platforms). Not part of the package's API.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { END_OF_ARCHIVE, entryHeader, padding } from "@talos-ext/spec";
import { OCI_INDEX, OCI_MANIFEST } from "../src/registry/media-types.ts";

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A tar of regular files, with spec's one header encoder. */
export function tar(files: Record<string, Uint8Array>): Buffer {
  const parts: Buffer[] = [];
  for (const [path, data] of Object.entries(files)) {
    parts.push(
      ...entryHeader({ path, type: "file", mode: 0o644 }, data.length, 0),
      Buffer.from(data),
      padding(data.length),
    );
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

export interface LayoutBlob {
  mediaType: string;
  digest: string;
  size: number;
}

export interface Layer {
  blob: LayoutBlob;
  bytes: Buffer;
  diffId: string;
}

/** A gzip'd tar layer with one file of random content. */
export function randomLayer(size = 2048, name = "data.bin"): Layer {
  const raw = tar({ [name]: randomBytes(size) });
  // Level 0 keeps random data from being squeezed and makes sizes predictable.
  const bytes = gzipSync(raw, { level: 0 });
  return {
    blob: {
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: sha256(bytes),
      size: bytes.length,
    },
    bytes,
    diffId: sha256(raw),
  };
}

export interface Platform {
  os: string;
  architecture: string;
}

export interface LayoutSpec {
  /** One image per platform; more than one makes an image index. Default linux/amd64 only. */
  platforms?: Platform[];
  /** Layers per image (default 2) of `layerSize` random bytes each. */
  layers?: number;
  layerSize?: number;
  /** Layers placed first in every image (e.g. a shared base for mount tests). */
  baseLayers?: Layer[];
  /** Tag written as org.opencontainers.image.ref.name. */
  tag?: string;
}

export interface WrittenLayout {
  dir: string;
  /** Digest and media type of the top-level manifest or index. */
  digest: string;
  mediaType: string;
  /** Image manifests (one per platform). */
  manifests: LayoutBlob[];
  /** Config and layer blobs, without duplicates. */
  blobs: LayoutBlob[];
}

async function putBlob(dir: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  await writeFile(join(dir, "blobs", "sha256", digest.slice(7)), bytes);
  return digest;
}

export async function writeLayout(dir: string, spec: LayoutSpec = {}): Promise<WrittenLayout> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const platforms = spec.platforms ?? [{ os: "linux", architecture: "amd64" }];
  const blobs = new Map<string, LayoutBlob>();
  const manifests: Array<LayoutBlob & { platform: Platform }> = [];
  for (const platform of platforms) {
    const layers = [...(spec.baseLayers ?? [])];
    for (let i = 0; i < (spec.layers ?? 2); i++)
      layers.push(randomLayer(spec.layerSize ?? 2048, `f${i}.bin`));
    for (const l of layers) {
      await putBlob(dir, l.bytes);
      blobs.set(l.blob.digest, l.blob);
    }
    const config = Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        config: {},
        rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      }),
    );
    const configBlob = {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: await putBlob(dir, config),
      size: config.length,
    };
    blobs.set(configBlob.digest, configBlob);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: configBlob,
        layers: layers.map((l) => l.blob),
      }),
    );
    manifests.push({
      mediaType: OCI_MANIFEST,
      digest: await putBlob(dir, manifest),
      size: manifest.length,
      platform,
    });
  }
  let top: LayoutBlob;
  if (manifests.length === 1) {
    const { platform: _p, ...m } = manifests[0]!;
    top = m;
  } else {
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    top = { mediaType: OCI_INDEX, digest: await putBlob(dir, index), size: index.length };
  }
  const annotations = spec.tag ? { "org.opencontainers.image.ref.name": spec.tag } : undefined;
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...top, ...(annotations ? { annotations } : {}) }],
    }),
  );
  return {
    dir,
    digest: top.digest,
    mediaType: top.mediaType,
    manifests: manifests.map(({ platform: _p, ...m }) => m),
    blobs: [...blobs.values()],
  };
}

/** The digest index.json of a layout lists first (what a pull wrote). */
export async function layoutTopDigest(dir: string): Promise<string> {
  const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as {
    manifests: Array<{ digest: string }>;
  };
  return index.manifests[0]!.digest;
}
