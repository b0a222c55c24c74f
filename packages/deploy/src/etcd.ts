/**
 * etcd health as an orchestrator must check it itself on the Lifecycle path (which, unlike the
 * legacy upgrade, takes no etcd lock and runs no checks): every member reachable through its
 * own node, no errors, no learner, and, after a control plane, that node back in the member list.
 */
import { type EtcdMember, isTalosctlError, type Talosctl } from "@talos-ext/talosctl";
import { DeployError, type DeployStep, fromTalosctl } from "./errors.ts";

/** The host of a member's first URL (`https://10.5.0.2:2380` -> `10.5.0.2`). */
function memberHost(m: EtcdMember): string | undefined {
  const url = m.peerUrls[0] ?? m.clientUrls[0];
  if (!url) return undefined;
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return undefined;
  }
}

/**
 * Checks etcd from `via` (a control plane): lists the members, then asks each member's node for
 * its status. `node` is the control plane the check is for (named in errors); `mustInclude`
 * requires that node among the members.
 */
export async function checkEtcd(
  talos: Talosctl,
  via: string,
  node: string,
  step: DeployStep,
  opts: {
    /** Timeout of each talosctl call (the member list, and each member's status), in ms. */
    timeoutMs: number;
    /** Cancels the check (the running talosctl call is terminated). */
    signal?: AbortSignal;
    /** Require `node` among the members (after its upgrade); default false. */
    mustInclude?: boolean;
  },
): Promise<EtcdMember[]> {
  const call = { timeoutMs: opts.timeoutMs, signal: opts.signal };
  let members: EtcdMember[];
  try {
    members = await talos.etcdMembers(via, call);
  } catch (e) {
    throw etcdError(e, node, step, `cannot list etcd members through ${via}`);
  }
  if (members.length === 0) {
    throw new DeployError({
      code: "DEPLOY_ETCD_UNHEALTHY",
      node,
      step,
      message: `etcd on ${via} lists no members (step ${step} for node ${node})`,
      hint: "Check etcd with `talosctl etcd members`.",
    });
  }
  if (opts.mustInclude && !members.some((m) => memberHost(m) === node || m.hostname === node)) {
    throw new DeployError({
      code: "DEPLOY_ETCD_UNHEALTHY",
      node,
      step,
      message: `node ${node} is not an etcd member after its upgrade (members: ${members.map((m) => m.hostname).join(", ")})`,
      hint: "Check `talosctl -n <node> service etcd` and `etcd members`; do not upgrade another control plane.",
    });
  }
  for (const m of members) {
    if (m.learner) {
      throw new DeployError({
        code: "DEPLOY_ETCD_UNHEALTHY",
        node,
        step,
        message: `etcd member ${m.hostname} is a learner (step ${step} for node ${node})`,
        hint: "Wait until it is promoted, then run again.",
      });
    }
    const host = memberHost(m);
    if (!host) {
      throw new DeployError({
        code: "DEPLOY_ETCD_UNHEALTHY",
        node,
        step,
        message: `etcd member ${m.hostname} has no usable URL (step ${step} for node ${node})`,
      });
    }
    try {
      const status = await talos.etcdStatus(host, call);
      if (status.errors.length > 0) {
        throw new DeployError({
          code: "DEPLOY_ETCD_UNHEALTHY",
          node,
          step,
          message: `etcd member ${m.hostname} (${host}) reports errors: ${status.errors.join(", ")} (step ${step} for node ${node})`,
          hint: "Fix that member first (e.g. `talosctl etcd alarm list`, defrag); never upgrade a control plane while etcd is degraded.",
        });
      }
    } catch (e) {
      if (e instanceof DeployError) throw e;
      throw etcdError(e, node, step, `etcd member ${m.hostname} (${host}) does not answer`);
    }
  }
  return members;
}

function etcdError(e: unknown, node: string, step: DeployStep, what: string): DeployError {
  if (!isTalosctlError(e)) throw e;
  const d = fromTalosctl(
    e,
    step,
    node,
    what,
    e.code === "TALOSCTL_ABORTED" ? "DEPLOY_ABORTED" : "DEPLOY_ETCD_UNHEALTHY",
  );
  return d;
}
