/**
 * @talos-ext/talosctl: a typed, per-node client for the talosctl binary. One process per call
 * and per node, flags chosen from the client's version, output parsed while it streams, every
 * failure a `TalosctlError` with a stable code.
 */

export {
  type CallOptions,
  createTalosctl,
  type GetOptions,
  type HealthOptions,
  type LogsOptions,
  type NodeResult,
  type OnNodesOptions,
  type ReadOptions,
  type RebootMode,
  type RebootOptions,
  Talosctl,
  type TalosctlOptions,
  type UpgradeCommand,
  type UpgradeOptions,
  type UpgradeResult,
} from "./client.ts";
export {
  isTalosctlError,
  redact,
  TALOSCTL_ERROR_CODES,
  TalosctlError,
  type TalosctlErrorCode,
  type TalosctlErrorOptions,
} from "./errors.ts";
export {
  JsonObjectSplitter,
  type JsonObjectSplitterOptions,
  JsonStreamError,
  parseConcatenatedJson,
} from "./json-stream.ts";
export {
  decodeSchematic,
  type ExtensionStatus,
  type ExtensionStatusSpec,
  type MachineType,
  parseGetYaml,
  type ResourceMetadata,
  resourceId,
  type SchematicInfo,
  type TalosctlResource,
  toExtensionStatus,
  VIRTUAL_EXTENSIONS,
} from "./resources.ts";
export { MAX_TALOSCONFIG_BYTES, readTalosconfig, type TalosconfigSummary } from "./talosconfig.ts";
export {
  type EtcdMember,
  type EtcdMemberStatus,
  type ParsedTable,
  parseEtcdMembers,
  parseEtcdStatus,
  parseServerVersion,
  parseServiceStatus,
  parseServiceTable,
  parseTable,
  type ServerVersion,
  type ServiceEvent,
  type ServiceStatus,
  type ServiceSummary,
} from "./text-output.ts";
export {
  type ClientFeatures,
  clientFeatures,
  compareVersions,
  isSupportedClient,
  parseClientVersionOutput,
  parseTalosVersion,
  SUPPORTED_CLIENT_VERSIONS,
  serverHasLifecycle,
  type TalosVersion,
} from "./version.ts";
