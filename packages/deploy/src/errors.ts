/**
 * The one error class of this package: a `TalosExtError` that also names the node and the step
 * it happened at, the talosctl code behind it, and what state the node was left in.
 */
import { TalosExtError } from "@talos-ext/spec";
import { isTalosctlError, type TalosctlError, type TalosctlErrorCode } from "@talos-ext/talosctl";
import type { DeployErrorCode } from "./codes.ts";

/** A step of a deploy, as errors, events and reports name it. */
export type DeployStep =
  | "input"
  | "connect"
  | "inspect"
  | "plan"
  | "preflight"
  | "etcd-before"
  | "upgrade"
  | "wait"
  | "verify-version"
  | "verify-extensions"
  | "verify-services"
  | "verify-health"
  | "rollback";

/**
 * What a node was left as. `upgraded-unverified`: it runs the new version but a check failed;
 * `armed`: the new entry is installed and not booted; `unreachable`: it did not answer after the
 * failure; `unchanged`: nothing was installed.
 */
export type NodeOutcome =
  | "pending"
  | "skipped"
  | "upgraded"
  | "upgraded-unverified"
  | "armed"
  | "unreachable"
  | "unchanged"
  | "rolled-back"
  | "interrupted";

/** Fields of a `DeployError`. */
export interface DeployErrorOptions {
  /** The stable code. */
  code: DeployErrorCode;
  /** What went wrong, naming the node and step. */
  message: string;
  /** What to do about it. */
  hint?: string;
  /** The node it happened on. */
  node?: string;
  /** The step it happened at. */
  step?: DeployStep;
  /** The node's state after the failure, when known. */
  nodeState?: NodeOutcome;
  /** The talosctl error code behind it, if a talosctl call failed. */
  talosctlCode?: TalosctlErrorCode;
  /** The underlying error. */
  cause?: unknown;
}

/** A deploy failure: stable `code`, `node`, `step`, the node's state, the talosctl code. */
export class DeployError extends TalosExtError {
  /** The stable `DEPLOY_*` code (a narrower type than the base class's). */
  declare readonly code: DeployErrorCode;
  /** The node it happened on. */
  readonly node: string | undefined;
  /** The step it happened at. */
  readonly step: DeployStep | undefined;
  /** The node's state after the failure. */
  nodeState: NodeOutcome | undefined;
  /** The talosctl error code behind it. */
  readonly talosctlCode: TalosctlErrorCode | undefined;

  constructor(options: DeployErrorOptions) {
    super({ code: options.code, message: options.message, hint: options.hint, cause: options.cause });
    this.node = options.node;
    this.step = options.step;
    this.nodeState = options.nodeState;
    this.talosctlCode = options.talosctlCode;
  }

  /** A plain object for reports and `--json` (no stack, no cause). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.hint !== undefined) out.hint = this.hint;
    if (this.node !== undefined) out.node = this.node;
    if (this.step !== undefined) out.step = this.step;
    if (this.nodeState !== undefined) out.nodeState = this.nodeState;
    if (this.talosctlCode !== undefined) out.talosctlCode = this.talosctlCode;
    return out;
  }
}

/** Whether `value` is a `DeployError` (optionally with this code). */
export function isDeployError(value: unknown, code?: DeployErrorCode): value is DeployError {
  return value instanceof DeployError && (code === undefined || value.code === code);
}

const FROM_TALOSCTL: Partial<Record<TalosctlErrorCode, DeployErrorCode>> = {
  TALOSCTL_NOT_FOUND: "DEPLOY_TALOSCTL_NOT_FOUND",
  TALOSCTL_UNSUPPORTED_VERSION: "DEPLOY_TALOSCTL_UNSUPPORTED",
  TALOSCTL_CONFIG_INVALID: "DEPLOY_TALOSCONFIG_INVALID",
  TALOSCTL_AUTH: "DEPLOY_TALOSCONFIG_INVALID",
  TALOSCTL_NODE_UNREACHABLE: "DEPLOY_NODE_UNREACHABLE",
  TALOSCTL_NODE_UNKNOWN: "DEPLOY_NODE_UNREACHABLE",
  TALOSCTL_TIMEOUT: "DEPLOY_NODE_UNREACHABLE",
  TALOSCTL_BUSY: "DEPLOY_NODE_BUSY",
  TALOSCTL_UPGRADE_FAILED: "DEPLOY_UPGRADE_FAILED",
  TALOSCTL_DRAIN_FAILED: "DEPLOY_DRAIN_FAILED",
  TALOSCTL_REBOOT_TIMEOUT: "DEPLOY_NODE_NOT_BACK",
  TALOSCTL_ROLLBACK_FAILED: "DEPLOY_ROLLBACK_FAILED",
  TALOSCTL_UNHEALTHY: "DEPLOY_UNHEALTHY",
  TALOSCTL_ABORTED: "DEPLOY_ABORTED",
};

/** Wraps a talosctl failure (or passes a DeployError through) with the node and step. */
export function fromTalosctl(
  e: unknown,
  step: DeployStep,
  node: string | undefined,
  what: string,
  override?: DeployErrorCode,
): DeployError {
  if (e instanceof DeployError) return e;
  if (!isTalosctlError(e)) throw e;
  const t = e as TalosctlError;
  const code = override ?? FROM_TALOSCTL[t.code] ?? "DEPLOY_TALOSCTL_FAILED";
  const on = node !== undefined ? ` (node ${node}, step ${step})` : ` (step ${step})`;
  return new DeployError({
    code,
    node,
    step,
    talosctlCode: t.code,
    message: `${what}${on}: ${t.message}`,
    hint: t.hint,
    cause: t,
  });
}
