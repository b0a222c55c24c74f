export type { DecodeResult } from "./engine.ts";
export {
  configFileStorageName,
  decodeExtensionServiceConfig,
  decodeExtensionServiceConfigs,
  ESC_API_VERSION,
  ESC_KIND,
  type ExtensionServiceConfig,
  extensionServiceConfigSchema,
} from "./extension-service-config.ts";
export {
  JSON_SCHEMA_NAMES,
  type JsonSchemaName,
  jsonSchemaFiles,
  jsonSchemaId,
  jsonSchemas,
} from "./json-schema.ts";
export { decodeManifest, type ExtensionManifest, manifestSchema } from "./manifest.ts";
export {
  type Dependency,
  decodePkg,
  type Finalize,
  NETWORK_MODES,
  type Network,
  type Pkg,
  PLATFORMS,
  type Platform,
  pkgSchema,
  type Sbom,
  type Source,
  type Step,
  VARIANTS,
  type Variant,
} from "./pkg.ts";
export {
  decodePkgfile,
  decodeVars,
  PKGFILE_FORMATS,
  type Pkgfile,
  pkgfileSchema,
  varsSchema,
} from "./pkgfile.ts";
export {
  decodeServiceSpec,
  type IdMapping,
  NETWORK_STATUSES,
  type NetworkStatus,
  RESTART_KINDS,
  type RestartKind,
  type ServiceContainer,
  type ServiceDependency,
  type ServiceMount,
  type ServiceSecurity,
  type ServiceSpec,
  serviceSpecSchema,
} from "./service.ts";
