export { MEDIA_TYPE_LAYER, writeLayer } from "./layer.ts";
export type { OciLayoutOptions, OciLayoutResult } from "./layout.ts";
export {
  ANNOTATION_REF_NAME,
  canonicalJson,
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_INDEX,
  MEDIA_TYPE_MANIFEST,
  writeOciLayout,
} from "./layout.ts";
export type { ReadTarOptions, TarEntry, TarInput } from "./tar-reader.ts";
export { readTarEntries } from "./tar-reader.ts";
export type { CollectTreeOptions } from "./tree.ts";
export { collectTree } from "./tree.ts";
export type { Compression, FsEntry, ImageInput, LayerDescriptor, LayerOptions, Platform } from "./types.ts";
