/**
 * What ghcr.io/siderolabs serves to the installer path, seeded into a local registry (behind a
 * `ghcr.io/siderolabs=<registry>/siderolabs` mirror): a base installer, official extension
 * images, and the release's catalog image (`extensions:<tag>` with `image-digests`) pinning them.
 */
import { fileURLToPath } from "node:url";
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

/**
 * A talos-ext.yaml for rollouts against that registry: Talos v1.14.1 on linux/amd64, the
 * toolchain and siderolabs mirrors, one control plane (10.5.0.2) and one worker (10.5.0.4) of
 * the talosctl double, and the imager double.
 */
export function rolloutConfig(registry: string, treeRoot: string): string {
  const imager = fileURLToPath(new URL("../doubles/imager", import.meta.url));
  return [
    "talos:",
    "  version: v1.14.1",
    "platforms: [linux/amd64]",
    "tree:",
    `  root: ${treeRoot}`,
    "registry:",
    `  repository: ${registry}/ext`,
    "  insecure: true",
    "mirrors:",
    "  images:",
    "    - ghcr.io/talos-ext-playground=talos-ext.local",
    `    - ghcr.io/siderolabs=${registry}/siderolabs`,
    "cluster:",
    "  nodes:",
    "    controlPlane: [10.5.0.2]",
    "    worker: [10.5.0.4]",
    "installer:",
    "  imager:",
    `    binary: ${imager}`,
    "",
  ].join("\n");
}
