/**
 * What is in an image: an OCI image layout on disk, or a registry reference (pulled into a
 * temporary layout, digests verified). For each platform: config labels, layers, and — when the
 * image is a Talos extension — its manifest, services and validation result.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ExtensionManifest, TalosExtError, validateExtension } from "@talos-ext/spec";
import type { RegistryClientOptions } from "../registry/client.ts";
import { pullLayout } from "../registry/layout.ts";

export interface InspectedImage {
  platform: string;
  digest: string;
  config: { digest: string; labels: Record<string, string> };
  layers: { digest: string; size: number; mediaType: string }[];
  extension?: { manifest?: ExtensionManifest; services: string[]; ok: boolean; problems: number };
}

export interface InspectResult {
  source: string;
  digest: string;
  mediaType: string;
  images: InspectedImage[];
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

async function readBlobJson<T>(layout: string, digest: string): Promise<T> {
  const [algo, hex] = digest.split(":");
  try {
    return JSON.parse(await readFile(join(layout, "blobs", algo!, hex!), "utf8")) as T;
  } catch (e) {
    throw new TalosExtError({
      code: "OCI_LAYOUT_INVALID",
      message: `${layout}: blob ${digest} is missing or not JSON`,
      hint: "the layout is incomplete; rebuild or pull it again",
      cause: e,
    });
  }
}

export interface InspectOptions {
  /** Talos version the extension is validated against (default: the validator's). */
  talosVersion?: string;
}

export async function inspectLayout(
  layout: string,
  source = layout,
  options: InspectOptions = {},
): Promise<InspectResult> {
  let index: { manifests?: Descriptor[] };
  try {
    index = JSON.parse(await readFile(join(layout, "index.json"), "utf8"));
  } catch (e) {
    throw new TalosExtError({
      code: "OCI_LAYOUT_INVALID",
      message: `${layout} is not an OCI image layout (no readable index.json)`,
      hint: "pass a directory written by talos-ext build, skopeo copy oci:..., or umoci",
      cause: e,
    });
  }
  const top = index.manifests?.[0];
  if (!top)
    throw new TalosExtError({
      code: "OCI_LAYOUT_INVALID",
      message: `${layout}: index.json lists no image`,
      hint: "the layout is empty",
    });
  const images: InspectedImage[] = [];
  const visit = async (d: Descriptor): Promise<void> => {
    const doc = await readBlobJson<{
      mediaType?: string;
      manifests?: Descriptor[];
      config?: Descriptor;
      layers?: Descriptor[];
    }>(layout, d.digest);
    if (doc.manifests) {
      for (const child of doc.manifests) await visit(child);
      return;
    }
    const config = await readBlobJson<{
      os?: string;
      architecture?: string;
      variant?: string;
      config?: { Labels?: Record<string, string> };
    }>(layout, doc.config!.digest);
    const platform = [config.os, config.architecture, config.variant].filter(Boolean).join("/");
    const report = await validateExtension(layout, { platform, ...options }).catch(() => undefined);
    const image: InspectedImage = {
      platform,
      digest: d.digest,
      config: { digest: doc.config!.digest, labels: config.config?.Labels ?? {} },
      layers: (doc.layers ?? []).map((l) => ({
        digest: l.digest,
        size: l.size,
        mediaType: l.mediaType ?? "",
      })),
    };
    if (report?.manifest) {
      image.extension = {
        manifest: report.manifest,
        services: report.services.map((s) => s.spec.name),
        ok: report.ok,
        problems: report.diagnostics.filter((x) => x.severity === "error").length,
      };
    }
    images.push(image);
  };
  await visit(top);
  return { source, digest: top.digest, mediaType: top.mediaType ?? "", images };
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
