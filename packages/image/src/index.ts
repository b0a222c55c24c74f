// The registry of the codes image adds to spec's (docs/error-codes.md is tested against it).

// Build: plan -> sources -> engine or native assembly -> validated, deterministic OCI layout.
export {
  type BuildEvent,
  type BuildOptions,
  type BuildResult,
  build,
  planPlatform,
  sourceDateEpoch,
} from "./build/build.ts";
export { IMAGE_ERROR_CODES, type ImageErrorCode } from "./codes.ts";
export {
  detectEngine,
  type Engine,
  type EngineBuildRequest,
  type EngineKind,
  runEngineBuild,
} from "./engine/engine.ts";
// Inspecting images (layouts or references).
export {
  type InspectedImage,
  type InspectOptions,
  type InspectResult,
  inspectLayout,
  inspectReference,
} from "./inspect/inspect.ts";
// The one download primitive (sources, update, registry blobs), its retry loop and checksums.
export {
  backoffMs,
  type ChecksumAlgorithm,
  ChecksumStream,
  type ChecksumStreamOptions,
  type Checksums,
  type DownloadErrorMap,
  type DownloadFault,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  type DownloadTarget,
  displayUrl,
  download,
  type GetOptions,
  isRetryableStatus,
  type OpenedBody,
  openUrl,
  RetryableError,
  type RetryPolicy,
  withRetries,
} from "./net/index.ts";
// Deterministic OCI image layouts.
export * from "./oci/index.ts";
export { applyMirrors, type ImageMirror, normalizeImageName, parseMirror } from "./plan/mirrors.ts";
export {
  ALPINE_BASE,
  type BuildPlan,
  type PlannedContextDir,
  type PlannedRun,
  type PlannedSource,
  type PlanOptions,
  packagesNeedingEngine,
  planBuild,
} from "./plan/plan.ts";
// Registry client.
export * from "./registry/index.ts";
// Sources by checksum, with a content-addressed cache.
export * from "./sources/index.ts";
// Checksum refresh after a version bump (bldr update).
export * from "./update/index.ts";
