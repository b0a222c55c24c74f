/**
 * Every code `@talos-ext/deploy` reports, with what it means: the same table as the DEPLOY_
 * section of docs/error-codes.md (a test keeps the two equal). Match on the code, never on the
 * message.
 */
export const DEPLOY_ERROR_CODES = {
  DEPLOY_INVALID_INPUT:
    "Bad deploy input: no nodes, a duplicate node, a malformed installer description or option.",
  DEPLOY_TALOSCTL_NOT_FOUND: "No talosctl binary could be found or started.",
  DEPLOY_TALOSCTL_UNSUPPORTED: "The talosctl client's version is outside the supported range, or unreadable.",
  DEPLOY_TALOSCONFIG_INVALID:
    "The talosconfig is missing, malformed or lacks the context, or its certificates are refused.",
  DEPLOY_NODE_UNREACHABLE: "A node did not answer (or its name does not resolve).",
  DEPLOY_NODE_VERSION_UNKNOWN: "A node's Talos version or role could not be read.",
  DEPLOY_UPGRADE_WINDOW:
    "The target version cannot be reached from a node's version in one upgrade, and no installer for the hops was given.",
  DEPLOY_INSTALLER_MISSING_EXTENSION:
    "The installer lacks an extension that a node runs now or that was asked for.",
  DEPLOY_INSTALLER_INCOMPATIBLE:
    "An extension of the installer does not satisfy its Talos version constraint for the target.",
  DEPLOY_ETCD_UNHEALTHY:
    "Before or after a control plane: an etcd member is unreachable, reports errors, is a learner, or is missing.",
  DEPLOY_NODE_ARMED:
    "A node has an upgrade installed but not booted (armed): it would switch version at its next reboot.",
  DEPLOY_NODE_BUSY: "Another installation or upgrade is already running on the node.",
  DEPLOY_UPGRADE_FAILED:
    "The installer failed on the node (or its image could not be pulled); nothing was installed.",
  DEPLOY_DRAIN_FAILED: "The new version was installed, then draining failed: the node is armed.",
  DEPLOY_NODE_NOT_BACK: "The node did not come back after its reboot within the timeout.",
  DEPLOY_VERSION_MISMATCH: "After the upgrade the node runs another Talos version than the installer's.",
  DEPLOY_EXTENSIONS_MISMATCH:
    "After the upgrade the node's ExtensionStatus set is not exactly the installer's.",
  DEPLOY_SERVICE_NOT_RUNNING: "After the upgrade an ext-* service is not Running within the timeout.",
  DEPLOY_UNHEALTHY: "`talosctl health` on the upgraded control plane did not pass.",
  DEPLOY_ROLLBACK_FAILED:
    "rollbackOnFailure: the rollback failed or the node did not return to its old version.",
  DEPLOY_ABORTED: "The run was interrupted (AbortSignal); the report says where it stopped.",
  DEPLOY_TALOSCTL_FAILED: "A talosctl call failed in a way not classified further.",
} as const;

/** A stable deploy error code. */
export type DeployErrorCode = keyof typeof DEPLOY_ERROR_CODES;

/** Codes of findings that do not stop a run (warnings in plans and reports). */
export const DEPLOY_WARNING_CODES = {
  DEPLOY_IMAGE_VERIFICATION:
    "The node runs Talos >= 1.13: an ImageVerificationConfig may refuse an unsigned, self-built installer.",
  DEPLOY_NO_DIGEST:
    "The installer is given by tag only: nodes pull whatever the tag names when they upgrade.",
  DEPLOY_EXTENSION_REMOVED: "The installer drops an extension the node runs now, as asked (`remove`).",
} as const;

/** A stable deploy warning code. */
export type DeployWarningCode = keyof typeof DEPLOY_WARNING_CODES;
