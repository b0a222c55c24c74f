/**
 * @talos-ext/deploy: roll an installer out to Talos nodes over talosctl. Plan per node (version
 * hops within the upgrade window, extension diff, exact commands), preflight, one node at a time
 * for control planes with etcd checked before each, workers in batches, verification after each
 * node, stop (or roll back) at the first failure, and a report.
 */

export {
  type ApplyOptions,
  applyPlan,
  createInterrupt,
  type DeployEvent,
  type Interrupt,
} from "./apply.ts";
export {
  DEPLOY_ERROR_CODES,
  DEPLOY_WARNING_CODES,
  type DeployErrorCode,
  type DeployWarningCode,
} from "./codes.ts";
export { connect } from "./connect.ts";
export {
  DeployError,
  type DeployErrorOptions,
  type DeployStep,
  isDeployError,
  type NodeOutcome,
} from "./errors.ts";
export { checkEtcd } from "./etcd.ts";
export {
  diffExtensions,
  type ExtensionChange,
  type ExtensionSet,
  type NodeExtensionDiff,
  sameSet,
} from "./extensions.ts";
export { formatPlan, shellQuote } from "./format-plan.ts";
export {
  type InstallerContent,
  type InstallerExtension,
  installerContentSchema,
  parseInstallerContent,
} from "./installer.ts";
export { DEFAULT_TIMEOUTS, type DeployPlanOptions, type DeployTimeouts } from "./options.ts";
export {
  type DeployPlan,
  type NodePlan,
  type NodeRole,
  type PlanHop,
  type PlanPhase,
  planDeploy,
} from "./plan.ts";
export {
  type DeployReport,
  formatReport,
  type NodeReport,
  outcomeCounts,
  type StepRecord,
} from "./report.ts";
export { hopChain, requiredHops, withinWindow } from "./window.ts";
