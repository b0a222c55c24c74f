// Errors and diagnostics: every user-facing problem is data with a code, a location and a hint.

// The registry of every code spec emits (docs/error-codes.md is tested against it).
export { SPEC_ERROR_CODES, type SpecErrorCode } from "./codes.ts";
export {
  type Diagnostic,
  diagnostic,
  didYouMean,
  editDistance,
  formatDiagnostic,
  formatLocation,
  hasErrors,
  isTalosExtError,
  type Severity,
  type SourceLocation,
  sortDiagnostics,
  TalosExtError,
  type TalosExtErrorOptions,
} from "./errors.ts";
// Talos system extension images: reading, Talos's rules, our service lints.
export * from "./extension/index.ts";
// Confined writes: every write into a work tree or output resolves each path component inside its root.
export {
  CONFINE_ERROR_CODES,
  ConfinedRoot,
  type ConfineErrorCode,
  type ConfineOptions,
  type CopyOptions,
  type CreateOptions,
  type FileData,
  type ResolveOptions,
  type SymlinkPolicy,
} from "./fs/confine.ts";
// Reading someone else's files: regular files only, capped, optionally confined to a root.
export {
  describeFileType,
  isInsideDir,
  openRegularFile,
  RegularFileError,
  type RegularFileOptions,
  type RegularFileProblem,
  readRegularFile,
  regularFileChunks,
} from "./fs/regular-file.ts";
// The package graph: resolution, merge lists, DOT and dump output.
export * from "./graph/index.ts";
export { type GraphJson, toGraphJson } from "./graph/json.ts";
// Lints over a whole tree.
export * from "./lint/index.ts";
// Loading a bldr tree exactly as bldr does.
export {
  assertPlatform,
  buildArgVariables,
  builtinVariables,
  compareBytes,
  DEFAULT_MAX_INPUT_BYTES,
  isPlatform,
  type LoadedPackage,
  type LoadedTree,
  type LoadMode,
  type LoadTreeOptions,
  loadTree,
  PLATFORMS,
  type ReadTreeFileOptions,
  readTreeFile,
  type TemplatedFile,
} from "./loader/index.ts";
// OCI image layouts: the one reader (directory or tar), verified blobs, capped JSON.
export {
  type Descriptor,
  formatPlatform,
  looksLikeOciLayout,
  MAX_OCI_JSON,
  OCI_LAYOUT_CODES,
  OCI_MEDIA_TYPES,
  type OciImageConfig,
  type OciImageEntry,
  type OciLayoutCodes,
  type OciLayoutOptions,
  type OciLayoutReader,
  type OciManifest,
  type OciPlatform,
  openOciArchive,
  openOciLayout,
  parsePlatform,
  platformMatches,
} from "./oci/layout.ts";
// The template of a new extension package (talos-ext new, nx g @talos-ext/nx:extension).
export {
  assertExtensionName,
  type ExtensionScaffold,
  type ExtensionScaffoldOptions,
  type ScaffoldBuilder,
  type ScaffoldedFile,
  scaffoldExtension,
} from "./scaffold/extension.ts";
// Schemas: Pkgfile, pkg.yaml, vars.yaml, manifest, service spec, ExtensionServiceConfig; JSON Schemas.
export {
  configFileStorageName,
  type DecodeResult,
  type Dependency,
  decodeExtensionServiceConfig,
  decodeExtensionServiceConfigs,
  decodeManifest,
  decodePkg,
  decodePkgfile,
  decodeServiceSpec,
  decodeVars,
  ESC_API_VERSION,
  ESC_KIND,
  type ExtensionManifest,
  type ExtensionServiceConfig,
  extensionServiceConfigSchema,
  type Finalize,
  JSON_SCHEMA_NAMES,
  type JsonSchemaName,
  jsonSchemaFiles,
  jsonSchemaId,
  jsonSchemas,
  manifestSchema,
  NETWORK_MODES,
  NETWORK_STATUSES,
  type Network,
  type NetworkStatus,
  PKGFILE_FORMATS,
  type Pkg,
  type Pkgfile,
  type Platform,
  pkgfileSchema,
  pkgSchema,
  RESTART_KINDS,
  type RestartKind,
  type Sbom,
  type ServiceContainer,
  type ServiceDependency,
  type ServiceMount,
  type ServiceSecurity,
  type ServiceSpec,
  type Source,
  type Step,
  serviceSpecSchema,
  VARIANTS,
  type Variant,
  varsSchema,
} from "./schema/index.ts";
// Tar: the one reader (streaming, path policy) and the one writer (header encoding).
export { EXT_TAR_CODES, OCI_TAR_CODES, type TarErrorCodes } from "./tar/codes.ts";
export {
  type ArchiveNameProblem,
  normalizeArchivePath,
  parentsOf,
  splitArchiveName,
  symlinkEscapes,
} from "./tar/paths.ts";
export {
  type ReadTarOptions,
  readTar,
  type TarEntry,
  type TarEntryType,
  type TarFinding,
  type TarPathPolicy,
} from "./tar/read.ts";
export {
  ByteReader,
  type ByteSource,
  type Compression,
  type ErrorMapper,
  fileChunks,
  openDecompressed,
  sniffCompression,
} from "./tar/stream.ts";
export {
  END_OF_ARCHIVE,
  entryHeader,
  entryHeaderInto,
  padding,
  paddingSize,
  paxRecord,
  TAR_BLOCK,
  type TarHeaderEntry,
  type TarHeaderFields,
  type TarWriteType,
  tarHeader,
} from "./tar/write.ts";
// Go text/template with sprig's hermetic functions.
export {
  compileGoRegex,
  executeTemplate,
  expandGoReplacement,
  type FunctionSet,
  type GoRegexp,
  goRegexReplaceAll,
  type ParsedTemplate,
  parseTemplate,
  type RenderOptions,
  type RenderResult,
  renderTemplate,
  type TemplateData,
} from "./template/index.ts";
// Byte-faithful UTF-8: invalid bytes of an input survive as escapes (Go keeps bytes).
export { decodeUtf8Faithful, encodeUtf8Faithful, hasInvalidUtf8 } from "./utf8.ts";
// YAML decoding with source positions, the way Go decodes into string-typed structs.
export {
  DEFAULT_MAX_ALIAS_NODES,
  DEFAULT_MAX_YAML_BYTES,
  type DecodedYaml,
  type DecodeYamlOptions,
  decodeYaml,
  decodeYamlBytes,
  decodeYamlDocuments,
  type PositionMapper,
  type YamlPath,
} from "./yaml/decode.ts";
