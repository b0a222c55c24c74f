/** Talos system extension images: reading (directory, tar, OCI layout), Talos's rules, and our lints. */
export { type ConstraintResult, satisfiesConstraint } from "./constraint.ts";
export { findDuplicatePaths } from "./duplicates.ts";
export { readOciArchive, readOciImage, readOciLayout } from "./oci.ts";
export { MAX_EXTENSION_DOCUMENT, readExtensionDir, readExtensionTar } from "./read.ts";
export {
  allowedPathPrefixes,
  isPathAllowed,
  isPathAllowedOnBoundary,
  KERNEL_MODULE_FILE,
  kernelModulesRoot,
  matchVersionFormat,
  TALOS_SERVICES,
  type TalosVersionText,
  VERSION_FORMATS,
  type VersionFormat,
} from "./rules.ts";
export {
  type LintableDependency,
  type LintableMount,
  type LintableServiceSpec,
  lintServiceSpec,
  type ServiceLintContext,
} from "./service-lint.ts";
export { type ExtensionEntry, type ExtensionEntryType, type ExtensionTree, entryLocation } from "./tree.ts";
export {
  DEFAULT_TALOS_VERSION,
  type ExtensionReport,
  readExtension,
  type ValidateExtensionOptions,
  validateExtension,
  validateExtensionTree,
  validateExtensionTreeAsync,
} from "./validate.ts";
