/** Pushes a small single-layer image (files given as data) to a registry with image's client. */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { OCI_INDEX, OCI_MANIFEST, type RegistryClient } from "@talos-ext/image";
import { type TarFile, tarArchive } from "../src/archive/tar.ts";

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Pushes `layers` (each a list of files) as one linux/<arch> image; returns the manifest digest. */
export async function pushFilesImage(
  client: RegistryClient,
  ref: string,
  layers: TarFile[][],
  options: { arch?: string; asIndex?: boolean } = {},
): Promise<string> {
  const arch = options.arch ?? "amd64";
  const tars = layers.map((files) => tarArchive(files));
  const gz = tars.map((t) => gzipSync(t));
  const config = Buffer.from(
    JSON.stringify({
      architecture: arch,
      os: "linux",
      rootfs: { type: "layers", diff_ids: tars.map(sha) },
      config: {},
    }),
  );
  await client.pushBlob(ref, { digest: sha(config), size: config.length }, () => config);
  for (const g of gz) await client.pushBlob(ref, { digest: sha(g), size: g.length }, () => g);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha(config),
        size: config.length,
      },
      layers: gz.map((g) => ({
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: sha(g),
        size: g.length,
      })),
    }),
  );
  if (!options.asIndex) return client.putManifest(ref, manifest, OCI_MANIFEST);
  const base = ref.slice(0, ref.lastIndexOf(":"));
  const child = await client.putManifest(`${base}@${sha(manifest)}`, manifest, OCI_MANIFEST);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: child,
          size: manifest.length,
          platform: { os: "linux", architecture: arch },
        },
      ],
    }),
  );
  return client.putManifest(ref, index, OCI_INDEX);
}
