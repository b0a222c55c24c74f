/**
 * `@talos-ext/config`: the `talos-ext.yaml` workspace file. A strict zod schema (with the JSON
 * Schema editors complete from), the loader that finds the file and applies env and flag
 * overrides, and the typed error codes.
 */
export { CONFIG_ERROR_CODES, type ConfigErrorCode } from "./codes.ts";
export {
  CONFIG_ENV,
  CONFIG_FILE_NAME,
  type ConfigOverride,
  envOverrides,
  findConfigFile,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  MAX_CONFIG_BYTES,
} from "./load.ts";
export { type ConfigFile, configJsonSchema, configSchema } from "./schema.ts";
