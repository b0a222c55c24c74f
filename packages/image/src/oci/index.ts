/**
 * Deterministic OCI image layouts.
 *
 * Same inputs -> byte-identical blobs, whatever the file system order, mtimes or owners:
 * entries sorted bytewise (parents first, missing parents added as 0755 dirs), uid/gid 0,
 * empty user/group names, mtime = SOURCE_DATE_EPOCH, ustar headers with pax records only for
 * names/links over 100 bytes or sizes of 8 GiB and more. The tar is cut into fixed-size blocks
 * by byte offset (2 MiB for gzip, 4 MiB for zstd), never by read size or timing, and each block
 * is compressed on its own by compression threads. gzip: one member (header mtime 0, OS 255)
 * whose blocks are deflated each with the previous 32 KiB as its dictionary and ending in a sync
 * flush. zstd: one frame per block, with its checksum and content size.
 * The config holds architecture, os, `created` = SOURCE_DATE_EPOCH (RFC 3339), config.Labels
 * (only when there are labels) and rootfs.diff_ids; no history. JSON is written with sorted keys.
 */
export { MEDIA_TYPE_LAYER, writeLayer } from "./layer.ts";
export type { OciLayoutResult, WriteOciLayoutOptions } from "./layout.ts";
export {
  ANNOTATION_REF_NAME,
  canonicalJson,
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_INDEX,
  MEDIA_TYPE_MANIFEST,
  writeOciLayout,
} from "./layout.ts";
export type { CollectTreeOptions } from "./tree.ts";
export { collectTree } from "./tree.ts";
export type {
  FsEntry,
  ImageInput,
  LayerCompression,
  LayerDescriptor,
  LayerOptions,
  Platform,
} from "./types.ts";
