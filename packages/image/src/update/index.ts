// `update`: refresh source checksums after a version bump, like `bldr update`.
export { type DiffVariable, variablesFromDiff } from "./diff.ts";
export { type DigestDownloadOptions, type Digests, downloadDigests } from "./download.ts";
export { type ChecksumReplacement, substitute, unifiedDiff } from "./rewrite.ts";
export {
  type UpdateCommonOptions,
  type UpdatedFile,
  type UpdatedSource,
  type UpdatedVariable,
  type UpdateEvent,
  type UpdateFromDiffOptions,
  type UpdateOptions,
  type UpdateReplacement,
  type UpdateResult,
  updateChecksums,
  updateFromDiff,
} from "./update.ts";
export { findVarDefinitions, type VarDefinition, type VarsFileKind, varsFileKind } from "./var-def.ts";
