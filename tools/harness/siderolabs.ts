/**
 * What ghcr.io/siderolabs serves to the installer path, seeded into a local registry (behind a
 * `ghcr.io/siderolabs=<registry>/siderolabs` mirror): a base installer, official extension
 * images, and the release's catalog image (`extensions:<tag>` with `image-digests`) pinning them.
 */
import type { RegistryClient } from "@talos-ext/image";
import { pushFilesImage } from "../../packages/installer/test/registry-image.ts";

export interface OfficialImage {
  name: string;
  version: string;
}

/** Pushes the base installer, each official image and the catalog of `talosVersion`. */
export async function seedSiderolabs(
  client: RegistryClient,
  registry: string,
  talosVersion: string,
  official: readonly OfficialImage[],
): Promise<void> {
  await pushFilesImage(client, `${registry}/siderolabs/installer-base:${talosVersion}`, [
    [{ path: "usr/bin/installer", data: "base" }],
  ]);
  const lines: string[] = [];
  for (const o of official) {
    const manifest = `version: v1alpha1\nmetadata:\n  name: ${o.name}\n  version: ${o.version}\n  author: Sidero Labs\n`;
    const digest = await pushFilesImage(client, `${registry}/siderolabs/${o.name}:${o.version}`, [
      [{ path: "manifest.yaml", data: manifest }],
    ]);
    // The catalog names the upstream references; the mirror maps them to this registry.
    lines.push(`ghcr.io/siderolabs/${o.name}:${o.version}@${digest}`);
  }
  await pushFilesImage(client, `${registry}/siderolabs/extensions:${talosVersion}`, [
    [{ path: "image-digests", data: `${lines.join("\n")}\n` }],
  ]);
}
