/** Media type of an OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** Media type of an OCI image index. */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** Media type of a Docker v2 schema 2 image manifest. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Media type of a Docker manifest list (the multi-platform form before OCI indexes). */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

/** Everything `getManifest` accepts, most specific first. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST].join(", ");

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/** The media type of a manifest body when no header or descriptor says it. */
export function sniffManifestMediaType(json: { mediaType?: unknown; manifests?: unknown }): string {
  if (typeof json.mediaType === "string" && json.mediaType !== "") return json.mediaType;
  return Array.isArray(json.manifests) ? OCI_INDEX : OCI_MANIFEST;
}
