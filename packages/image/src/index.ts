// Build: plan -> sources -> engine or native assembly -> validated, deterministic OCI layout.
export { type BuildEvent, type BuildOptions, type BuildResult, build, planPlatform, sourceDateEpoch } from "./build/build.ts";
export { type Engine, type EngineBuildRequest, type EngineKind, detectEngine, runEngineBuild } from "./engine/engine.ts";
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
export { applyMirrors, type ImageMirror, normalizeImageName, parseMirror } from "./plan/mirrors.ts";
// Deterministic OCI image layouts.
export * from "./oci/index.ts";
// Sources by checksum, with a content-addressed cache.
export * from "./sources/index.ts";
// Registry client.
export * from "./registry/index.ts";
