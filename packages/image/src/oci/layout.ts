import { createHash } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { ociError } from "./errors.ts";
import { syncDir, tempName, writeFileAtomic } from "./fsutil.ts";
import { layerOptions, writeLayer, writeTreeLayer } from "./layer.ts";
import { checkOutputReplaceable } from "./replaceable.ts";
import type { ImageInput, LayerDescriptor, LayerOptions, Platform } from "./types.ts";

/** Media type of an OCI image index. */
export const MEDIA_TYPE_INDEX = "application/vnd.oci.image.index.v1+json";
/** Media type of an OCI image manifest. */
export const MEDIA_TYPE_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** Media type of an OCI image config. */
export const MEDIA_TYPE_CONFIG = "application/vnd.oci.image.config.v1+json";
/** The annotation that names a manifest's tag in index.json (`org.opencontainers.image.ref.name`). */
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

/** Options of {@link writeOciLayout}. */
export interface WriteOciLayoutOptions extends LayerOptions {
  /** Tag recorded in index.json as `org.opencontainers.image.ref.name` (e.g. "v1.2.3"). */
  refName?: string;
  /** Put on the image manifest (one image) or the image index (several). */
  annotations?: Record<string, string>;
}

/** What {@link writeOciLayout} wrote. */
export interface OciLayoutResult {
  /** Digest of what index.json points at: the image manifest, or the image index. */
  digest: string;
  /** Media type of that manifest or index. */
  mediaType: string;
  /** One manifest per image, in input order: its platform and digest. */
  manifests: {
    /** `os/arch[/variant]` of the image. */
    platform: string;
    /** The image manifest's digest. */
    digest: string;
  }[];
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

/** JSON with object keys sorted (code-unit order) at every level: one byte string per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

async function writeJsonBlob(blobsDir: string, mediaType: string, value: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(canonicalJson(value), "utf8");
  const hex = createHash("sha256").update(bytes).digest("hex");
  await writeFileAtomic(join(blobsDir, "sha256", hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

function platformOf(platform: Platform): { architecture: string; os: string } {
  const [os, architecture, ...rest] = String(platform).split("/");
  if (os !== "linux" || (architecture !== "amd64" && architecture !== "arm64") || rest.length > 0) {
    throw ociError(
      "OCI_PLATFORM_INVALID",
      `unsupported platform ${JSON.stringify(platform)}`,
      "Talos system extensions are built for linux/amd64 and linux/arm64.",
    );
  }
  return { architecture, os };
}

/** RFC 3339 in UTC without fractional seconds, as Go's time.Time marshals a whole second. */
function rfc3339(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.000Z$/, "Z");
}

// Grammar of `org.opencontainers.image.ref.name` from the image-spec annotations document.
const REF_COMPONENT = "[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*";
const REF_NAME = new RegExp(`^${REF_COMPONENT}(?:/${REF_COMPONENT})*$`);

function checkStringMap(what: string, map: Record<string, string> | undefined): void {
  for (const [k, v] of Object.entries(map ?? {})) {
    if (typeof v !== "string") {
      throw ociError("OCI_BAD_OPTION", `${what} ${JSON.stringify(k)} is not a string`, "Quote the value.");
    }
  }
}

async function writeImage(
  blobsDir: string,
  image: ImageInput,
  options: WriteOciLayoutOptions,
  annotations: Record<string, string> | undefined,
): Promise<Descriptor> {
  const platform = platformOf(image.platform);
  checkStringMap("label", image.labels);
  const layers: LayerDescriptor[] = [];
  for (const layer of image.layers) {
    const out = { dir: blobsDir };
    // A directory is streamed: the same bytes as writeLayer(await collectTree(layer)).
    layers.push(
      await (typeof layer === "string"
        ? writeTreeLayer(layer, out, options)
        : writeLayer(layer, out, options)),
    );
  }
  const labels = image.labels && Object.keys(image.labels).length > 0 ? image.labels : undefined;
  // The config holds the platform, the labels and the layer diff_ids (bldr's image config), plus
  // `created` = SOURCE_DATE_EPOCH as BuildKit writes it: deterministic, and tools show a date.
  const config = await writeJsonBlob(blobsDir, MEDIA_TYPE_CONFIG, {
    architecture: platform.architecture,
    os: platform.os,
    created: rfc3339(options.sourceDateEpoch),
    config: labels ? { Labels: labels } : {},
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
  });
  const manifest = await writeJsonBlob(blobsDir, MEDIA_TYPE_MANIFEST, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config,
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    annotations,
  });
  return { ...manifest, platform };
}

/**
 * Writes an OCI image layout. One image: index.json points at its manifest (with platform).
 * Several: index.json points at an image index whose manifests carry their platforms.
 * The layout is built in a temp dir next to `outDir` and renamed over it; the previous layout
 * is moved aside first and only deleted once the new one is in place.
 */
export async function writeOciLayout(
  outDir: string,
  images: ImageInput[],
  options: WriteOciLayoutOptions,
): Promise<OciLayoutResult> {
  layerOptions(options);
  if (images.length === 0) {
    throw ociError("OCI_NO_IMAGES", "no images to write", "Pass at least one platform's image.");
  }
  const seen = new Set<string>();
  for (const image of images) {
    platformOf(image.platform);
    if (seen.has(image.platform)) {
      throw ociError(
        "OCI_DUPLICATE_PLATFORM",
        `platform ${image.platform} is given twice`,
        "Pass one image per platform.",
      );
    }
    seen.add(image.platform);
  }
  if (options.refName !== undefined && !REF_NAME.test(options.refName)) {
    throw ociError(
      "OCI_BAD_REF",
      `${JSON.stringify(options.refName)} is not a valid image reference name`,
      'Use letters, digits and . _ - : @ + / (e.g. "v1.2.3").',
    );
  }
  checkStringMap("annotation", options.annotations);
  const annotations =
    options.annotations && Object.keys(options.annotations).length > 0 ? options.annotations : undefined;

  const target = resolve(outDir);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const replace = await checkOutputReplaceable(target);
  const tmp = tempName(parent, basename(target));
  await mkdir(tmp);
  try {
    const blobsDir = join(tmp, "blobs");
    await mkdir(join(blobsDir, "sha256"), { recursive: true });
    await writeFileAtomic(
      join(tmp, "oci-layout"),
      Buffer.from(canonicalJson({ imageLayoutVersion: "1.0.0" })),
    );

    let top: Descriptor;
    const manifests: { platform: string; digest: string }[] = [];
    if (images.length === 1) {
      top = await writeImage(blobsDir, images[0]!, options, annotations);
      manifests.push({ platform: images[0]!.platform, digest: top.digest });
    } else {
      const descriptors: Descriptor[] = [];
      for (const image of images) {
        const d = await writeImage(blobsDir, image, options, undefined);
        descriptors.push(d);
        manifests.push({ platform: image.platform, digest: d.digest });
      }
      top = await writeJsonBlob(blobsDir, MEDIA_TYPE_INDEX, {
        schemaVersion: 2,
        mediaType: MEDIA_TYPE_INDEX,
        manifests: descriptors,
        annotations,
      });
    }
    const entry: Descriptor = { ...top };
    if (options.refName !== undefined) entry.annotations = { [ANNOTATION_REF_NAME]: options.refName };
    await writeFileAtomic(
      join(tmp, "index.json"),
      Buffer.from(canonicalJson({ schemaVersion: 2, mediaType: MEDIA_TYPE_INDEX, manifests: [entry] })),
    );
    await syncDir(join(blobsDir, "sha256"));
    await syncDir(blobsDir);
    await syncDir(tmp);

    if (replace) {
      const old = tempName(parent, `${basename(target)}-old`);
      await rename(target, old);
      try {
        await rename(tmp, target);
      } catch (err) {
        await rename(old, target);
        throw err;
      }
      await syncDir(parent);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
      await syncDir(parent);
    }
    return { digest: top.digest, mediaType: top.mediaType, manifests };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
