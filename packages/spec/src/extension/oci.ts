/**
 * Extension images from OCI image layouts (a directory, or a tar of one): the layout reader picks
 * the manifest for the platform, then the layers are applied in order with OCI whiteouts, giving
 * the flattened filesystem the Talos imager sees after `crane export`. Every blob is verified
 * before it is used.
 */
import { type Diagnostic, TalosExtError } from "../errors.ts";
import { type OciLayoutReader, type OciManifest, openOciArchive, openOciLayout } from "../oci/layout.ts";
import { membersFromTar, toEntry } from "./read.ts";
import type { ExtensionEntry, ExtensionTree } from "./tree.ts";

const LAYER_TYPES = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);

const basename = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const dirname = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");

function removeTree(map: Map<string, ExtensionEntry>, path: string, includeSelf: boolean) {
  const prefix = path === "" ? "" : `${path}/`;
  for (const key of [...map.keys()]) {
    if ((includeSelf && key === path) || key.startsWith(prefix)) map.delete(key);
  }
}

/** Applies layers bottom-up: whiteouts hide what lower layers put there, then the layer's own entries land. */
async function flatten(
  layout: OciLayoutReader,
  manifest: Extract<OciManifest, { kind: "image" }>,
  diagnostics: Diagnostic[],
): Promise<ExtensionEntry[]> {
  // The config is part of the image: verify it like every other blob (a symlink to /etc/passwd
  // or a rewritten config must not pass as valid).
  await layout.readConfig(manifest.config);
  const fs = new Map<string, ExtensionEntry>();
  for (const d of manifest.layers) {
    if (!LAYER_TYPES.has(d.mediaType)) {
      throw new TalosExtError({
        code: "OCI_MEDIA_TYPE_UNSUPPORTED",
        message: `layer ${d.digest} has media type ${d.mediaType}`,
        hint: "extension images carry tar layers (plain, gzip or zstd)",
        location: { file: layout.source },
      });
    }
    await layout.verifyBlob(d);
    const layerSource = `${layout.source}@${d.digest}`;
    const { members, plain } = await membersFromTar(layout.openBlob(d), layerSource, diagnostics);
    const opaque: string[] = [];
    const whiteouts: string[] = [];
    const kept = [];
    for (const m of members) {
      const base = basename(m.path);
      if (base === ".wh..wh..opq") opaque.push(dirname(m.path));
      else if (base.startsWith(".wh..wh."))
        continue; // AUFS bookkeeping, not content
      else if (base.startsWith(".wh."))
        whiteouts.push(`${dirname(m.path) ? `${dirname(m.path)}/` : ""}${base.slice(4)}`);
      else kept.push(m);
    }
    for (const dir of opaque) removeTree(fs, dir, false);
    for (const path of whiteouts) removeTree(fs, path, true);
    const direct = plain ? layout.blobRange?.(d) : undefined;
    for (const m of kept) {
      const existing = fs.get(m.path);
      if (existing?.type === "dir" && m.type !== "dir") removeTree(fs, m.path, false);
      // A directory entry over an existing directory only updates its metadata.
      fs.set(
        m.path,
        toEntry(m, layerSource, () => layout.openBlob(d), fs, direct),
      );
    }
  }
  return [...fs.values()];
}

/**
 * The flattened filesystem of one image manifest of an opened layout (config and every layer
 * verified), e.g. for each platform of an index in turn.
 */
export async function readOciImage(
  layout: OciLayoutReader,
  manifest: Extract<OciManifest, { kind: "image" }>,
): Promise<ExtensionTree> {
  const diagnostics: Diagnostic[] = [];
  const entries = await flatten(layout, manifest, diagnostics);
  const tree: ExtensionTree = { source: layout.source, entries, kind: "archive" };
  if (diagnostics.length > 0) tree.diagnostics = diagnostics;
  return tree;
}

async function treeOf(layout: OciLayoutReader, platform: string | undefined): Promise<ExtensionTree> {
  return readOciImage(layout, await layout.selectImage(platform));
}

/** Reads the image in an OCI layout directory for `platform` and flattens its layers. */
export async function readOciLayout(dir: string, platform?: string): Promise<ExtensionTree> {
  let layout: OciLayoutReader;
  try {
    layout = await openOciLayout(dir);
  } catch (e) {
    // A path that is not there is the caller's mistake, not a corrupt layout.
    if (e instanceof TalosExtError && /^cannot read OCI layout/.test(e.message)) {
      throw new TalosExtError({
        code: "EXT_INPUT_NOT_FOUND",
        message: e.message,
        hint: "check the path",
        location: { file: dir },
        cause: e,
      });
    }
    throw e;
  }
  return treeOf(layout, platform);
}

/** Reads the image in a tar of an OCI layout (e.g. `skopeo copy … oci-archive:x.tar`). */
export async function readOciArchive(file: string, platform?: string): Promise<ExtensionTree> {
  return treeOf(await openOciArchive(file), platform);
}
