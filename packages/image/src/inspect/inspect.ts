/**
 * What is in an image: an OCI image layout on disk (a directory or a tar of one), or a registry
 * reference (pulled into a temporary layout, digests verified). For each platform: config labels,
 * layers, and — when the image is a Talos extension — its manifest, services and validation
 * result. Everything is read through spec's one layout reader, so every blob is verified.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ExtensionManifest,
  formatPlatform,
  type OciLayoutReader,
  openOciArchive,
  openOciLayout,
  readOciImage,
  TalosExtError,
  validateExtensionTreeAsync,
} from "@talos-ext/spec";
import type { RegistryClientOptions } from "../registry/client.ts";
import { pullLayout } from "../registry/layout.ts";

/** One image manifest of the inspected image. */
export interface InspectedImage {
  /** `os/arch[/variant]`, from the index or else the config. */
  platform: string;
  /** The image manifest's digest. */
  digest: string;
  /** The config blob: its digest and `config.Labels`. */
  config: {
    /** The config blob's digest. */
    digest: string;
    /** The image's `config.Labels` (empty when it has none). */
    labels: Record<string, string>;
  };
  /** The layers, bottom first. */
  layers: {
    /** The layer blob's digest. */
    digest: string;
    /** The blob's size in bytes, as the manifest records it. */
    size: number;
    /** The layer's media type, which says how it is compressed. */
    mediaType: string;
  }[];
  /** Present when the image holds a Talos extension (`/manifest.yaml`). */
  extension?: {
    /** The parsed manifest, when it parses. */
    manifest?: ExtensionManifest;
    /** Service names from `/rootfs/usr/local/etc/containers/*.yaml`. */
    services: string[];
    /** Whether Talos's rules (for `talosVersion`) accept it. */
    ok: boolean;
    /** The number of error findings. */
    problems: number;
  };
}

/** What `inspectLayout` and `inspectReference` return. */
export interface InspectResult {
  /** The path or reference inspected. */
  source: string;
  /** The digest of the top manifest or index. */
  digest: string;
  /** Its media type. */
  mediaType: string;
  /** Every image manifest, in index order. */
  images: InspectedImage[];
}

/** Options of `inspectLayout` and `inspectReference`. */
export interface InspectOptions {
  /** Talos version the extension is validated against (default: the validator's). */
  talosVersion?: string;
}

async function open(layout: string): Promise<OciLayoutReader> {
  let isDir = false;
  try {
    isDir = (await stat(layout)).isDirectory();
  } catch (e) {
    throw new TalosExtError({
      code: "OCI_LAYOUT_INVALID",
      message: `cannot read ${layout}: ${(e as Error).message}`,
      hint: "pass an OCI layout directory, an oci-archive tar, or a registry reference",
      location: { file: layout },
      cause: e,
    });
  }
  return isDir ? openOciLayout(layout) : openOciArchive(layout);
}

/** Inspects an OCI image layout directory or a tar of one (`skopeo copy … oci-archive:x.tar`). */
export async function inspectLayout(
  layout: string,
  source = layout,
  options: InspectOptions = {},
): Promise<InspectResult> {
  const reader = await open(layout);
  const top = reader.manifests[0];
  if (!top) {
    throw new TalosExtError({
      code: "OCI_LAYOUT_INVALID",
      message: `${layout}: index.json lists no image`,
      hint: "the layout is empty",
      location: { file: layout },
    });
  }
  const images: InspectedImage[] = [];
  for (const entry of await reader.images()) {
    const manifest = await reader.readManifest(entry.descriptor);
    if (manifest.kind !== "image") {
      throw new TalosExtError({
        code: "OCI_LAYOUT_INVALID",
        message: `manifest ${entry.descriptor.digest} is an index, listed as an image`,
        hint: "the layout is corrupt; re-export it",
        location: { file: reader.blobLocation(entry.descriptor) },
      });
    }
    const config = await reader.readConfig(manifest.config);
    const platform = entry.platform ?? config.platform;
    const image: InspectedImage = {
      platform: platform ? formatPlatform(platform) : "",
      digest: manifest.descriptor.digest,
      config: { digest: manifest.config.digest, labels: config.labels },
      layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
    };
    // Faults of the image itself (a corrupt layer, a hostile tar) propagate with their codes;
    // only an image that is not an extension has no `extension` part.
    const tree = await readOciImage(reader, manifest);
    const report = await validateExtensionTreeAsync(tree, options);
    if (report.manifest) {
      image.extension = {
        manifest: report.manifest,
        services: report.services.map((s) => s.spec.name),
        ok: report.ok,
        problems: report.diagnostics.filter((x) => x.severity === "error").length,
      };
    }
    images.push(image);
  }
  return { source, digest: top.digest, mediaType: top.mediaType, images };
}

/** Inspects a registry reference by pulling it into a temporary layout first. */
export async function inspectReference(
  ref: string,
  options: RegistryClientOptions = {},
  validation: InspectOptions = {},
): Promise<InspectResult> {
  const dir = await mkdtemp(join(tmpdir(), "talos-ext-inspect-"));
  try {
    await pullLayout(ref, join(dir, "layout"), options);
    return await inspectLayout(join(dir, "layout"), ref, validation);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
