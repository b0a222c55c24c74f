// Composition: route (factory or imager), push of the imager's docker-archives.

// Error codes of this package.
export { INSTALLER_ERROR_CODES, type InstallerErrorCode, installerError } from "./codes.ts";
export {
  type ComposedInstaller,
  type ComposeOptions,
  composeInstaller,
  type Route,
  routeFor,
} from "./compose/compose.ts";
export {
  type PushArchiveOptions,
  type PushedArchive,
  pushDockerArchive,
  pushInstallerArchives,
} from "./compose/push.ts";
// Extension sets: model, node data, official catalog, our builds, desired set and diff.
export { type BuildEntryOptions, buildEntry } from "./extensions/build.ts";
export {
  DEFAULT_CATALOG_IMAGE,
  type OfficialCatalog,
  type OfficialExtension,
  officialEntry,
  parseCatalog,
  type ReadCatalogOptions,
  readOfficialCatalog,
} from "./extensions/catalog.ts";
export {
  type ChangedExtension,
  type DesiredSet,
  type DesiredSetOptions,
  desiredSet,
  diffSets,
  type ExtensionDiff,
  type ExtensionRequest,
} from "./extensions/desired.ts";
export {
  checkCompatible,
  type ExtensionMetadata,
  type ExtensionSetEntry,
  extensionEntry,
  extensionEntrySchema,
  MANIFEST_NAME_RE,
  ORIGINS,
  type Origin,
  PINNED_REF_RE,
} from "./extensions/model.ts";
export {
  type NodeExtensionReader,
  type NodeExtensions,
  type NodeSchematic,
  nodeExtensions,
  readNodeExtensions,
} from "./extensions/node.ts";
// Image Factory HTTP client.
export {
  type CreatedSchematic,
  DEFAULT_FACTORY_URL,
  type FactoryAuth,
  FactoryClient,
  type FactoryClientOptions,
  type FactoryExtension,
  type FactoryOverlay,
  factoryStatusCode,
} from "./factory/client.ts";
// Imager: profiles and runs.
export {
  ARCHES,
  type Arch,
  defaultBaseInstaller,
  type ExtensionSource,
  type ImagerProfile,
  type InstallerProfileOptions,
  imagerImage,
  imagerProfileSchema,
  installerOutputName,
  installerProfile,
  talosMinor,
  validateImagerProfile,
} from "./imager/profile.ts";
export {
  dockerImagerCommand,
  hasExitCodes,
  IMAGER_EXIT_CLASSES,
  type ImagerRun,
  imagerExitClass,
  type RunImagerOptions,
  runImager,
} from "./imager/run.ts";
// Installer inspection: what a node booted from an installer will report.
export { type InitramfsContents, MAX_EXTENSIONS_YAML, readInitramfs } from "./inspect/initramfs.ts";
export {
  type InspectInstallerOptions,
  type InstalledExtension,
  type InstallerReport,
  inspectInstaller,
} from "./inspect/inspect.ts";
export { type PeSection, parseOsRelease, readUki, type UkiInfo } from "./inspect/pe.ts";
export {
  type ImageSource,
  type OpenSourceOptions,
  openImageSource,
  type SourceLayer,
} from "./inspect/sources.ts";
export { EXTENSION_NAME_ALIASES, extensionNameAlias } from "./schematic/aliases.ts";
// Schematics: model, canonical YAML, ID, alias table, installer references.
export type { GoYamlDialect } from "./schematic/go-yaml.ts";
export {
  type FactoryInstallerRef,
  type FactoryInstallerRefOptions,
  formatFactoryInstallerRef,
  parseFactoryInstallerRef,
  parseInstallerImageName,
} from "./schematic/installer-ref.ts";
export {
  BOOTLOADERS,
  type CanonicalOptions,
  canonicalSchematic,
  EMPTY_SCHEMATIC_ID,
  type OverlayOptionValue,
  parseSchematic,
  type Schematic,
  type SchematicInput,
  schematicForExtensions,
  schematicId,
  schematicSchema,
  validateSchematic,
} from "./schematic/model.ts";
