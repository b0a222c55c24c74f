// Error codes of this package.
export { INSTALLER_ERROR_CODES, type InstallerErrorCode, installerError } from "./codes.ts";
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
// Schematics: model, canonical YAML, ID, alias table, installer references.
export { EXTENSION_NAME_ALIASES, extensionNameAlias } from "./schematic/aliases.ts";
export {
  type FactoryInstallerRef,
  type FactoryInstallerRefOptions,
  formatFactoryInstallerRef,
  parseFactoryInstallerRef,
  parseInstallerImageName,
} from "./schematic/installer-ref.ts";
export {
  BOOTLOADERS,
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
