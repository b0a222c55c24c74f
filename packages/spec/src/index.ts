// Errors and diagnostics: every user-facing problem is data with a code, a location and a hint.
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
// The package graph: resolution, merge lists, DOT and dump output.
export * from "./graph/index.ts";
export { type GraphJson, toGraphJson } from "./graph/json.ts";
// Lints over a whole tree.
export * from "./lint/index.ts";
// Loading a bldr tree exactly as bldr does.
export * from "./loader/index.ts";
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
// Go text/template with sprig's hermetic functions.
export * from "./template/index.ts";
// YAML decoding with source positions, the way Go decodes into string-typed structs.
export {
  type DecodedYaml,
  type DecodeYamlOptions,
  decodeYaml,
  decodeYamlDocuments,
  type PositionMapper,
  type YamlPath,
} from "./yaml/decode.ts";
