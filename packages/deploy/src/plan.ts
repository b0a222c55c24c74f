/**
 * Planning: read every node (version, role, extensions), compute per node the hops to the
 * target, the exact talosctl command of each hop, the extension diff and the warnings, order the
 * nodes (control planes one at a time, then workers in batches), and refuse what cannot work:
 * a version outside the upgrade window without hop installers, an installer that would drop an
 * extension or whose extensions do not fit its Talos version, a node left armed.
 */
import { type Diagnostic, satisfiesConstraint } from "@talos-ext/spec";
import {
  compareVersions,
  isTalosctlError,
  serverHasLifecycle,
  type Talosctl,
  type TalosVersion,
} from "@talos-ext/talosctl";
import type { DeployWarningCode } from "./codes.ts";
import { DeployError, fromTalosctl } from "./errors.ts";
import { diffExtensions, type ExtensionSet, type NodeExtensionDiff, nodeSet, sameSet } from "./extensions.ts";
import { type InstallerContent, parseInstallerContent } from "./installer.ts";
import { DEFAULT_TIMEOUTS, type DeployPlanOptions, type DeployTimeouts } from "./options.ts";
import { hopChain, mustParse, requiredHops } from "./window.ts";

/** A node's role as the plan orders it (`init` counts as a control plane). */
export type NodeRole = "controlplane" | "worker";

/** One upgrade of one node: which installer, and the exact command. */
export interface PlanHop {
  /** The Talos version this hop installs. */
  version: string;
  /** The installer reference (`--image`). */
  image: string;
  /** Its digest, when known. */
  digest?: string;
  /** The node's version when this hop starts. */
  fromVersion: string;
  /** The talosctl upgrade path for this client and node version. */
  path: "lifecycle" | "legacy";
  /** The exact argv that will run, binary first. */
  command: string[];
}

/** What the plan does with one node. */
export interface NodePlan {
  /** The node, as passed to `--nodes`. */
  node: string;
  /** Its role. */
  role: NodeRole;
  /** The version it runs now. */
  currentVersion: string;
  /** The version it will run. */
  targetVersion: string;
  /** `skip`: already at the target version with exactly the installer's extensions. */
  action: "upgrade" | "skip";
  /** The upgrades, in order (empty when skipped). */
  hops: PlanHop[];
  /** What it runs now (name and version per extension). */
  currentExtensions: ExtensionSet;
  /** Its extensions now vs the target installer's. */
  extensions: NodeExtensionDiff;
  /** `--reboot-mode`. */
  rebootMode: "default" | "powercycle";
  /** Findings that do not stop the run. */
  warnings: Diagnostic[];
}

/** One phase: every node that goes to one version, in order. */
export interface PlanPhase {
  /** The version of this phase. */
  version: string;
  /** The installer of this phase. */
  image: string;
  /** Control planes, one at a time, in this order. */
  controlPlanes: string[];
  /** Worker batches, each at most maxParallel nodes, run one batch after the other. */
  workerBatches: string[][];
}

/** A deploy plan: made by `planDeploy`, run by `applyPlan`, printable as a table or JSON. */
export interface DeployPlan {
  /** When it was made (ISO 8601). */
  createdAt: string;
  /** The talosctl client version the commands are for. */
  clientVersion: string;
  /** The target installer. */
  installer: InstallerContent;
  /** Installers of intermediate versions that the hops use. */
  hopInstallers: InstallerContent[];
  /** Workers at once. */
  maxParallel: number;
  /** Drain before reboot (Lifecycle path). */
  drain: boolean | undefined;
  /** The waits the apply uses. */
  timeouts: Required<DeployTimeouts>;
  /** Every node, ordered: control planes first, then workers, each as given. */
  nodes: NodePlan[];
  /** The phases, one per version the nodes go through, lowest first. */
  phases: PlanPhase[];
  /** Every warning of every node. */
  warnings: Diagnostic[];
}

const FACTORY = /^factory\.talos\.dev\//;

function warn(code: DeployWarningCode, message: string, hint: string): Diagnostic {
  return { code, severity: "warning", message, hint };
}

function invalid(message: string, hint: string): DeployError {
  return new DeployError({ code: "DEPLOY_INVALID_INPUT", step: "input", message, hint });
}

interface Observed {
  node: string;
  version: TalosVersion;
  role: NodeRole;
  extensions: ExtensionSet;
}

/** Reads one node: version, role, extensions; failures name the node and step `inspect`. */
async function observe(talos: Talosctl, node: string, callMs: number): Promise<Observed> {
  const opts = { timeoutMs: callMs };
  let tag: string;
  try {
    tag = (await talos.version(node, opts)).tag;
  } catch (e) {
    throw fromTalosctl(e, "inspect", node, `cannot read the Talos version of node ${node}`);
  }
  const version = mustParseOr(tag, node);
  let role: NodeRole;
  try {
    const t = await talos.machineType(node, opts);
    if (t === "unknown") {
      throw new DeployError({
        code: "DEPLOY_NODE_VERSION_UNKNOWN",
        node,
        step: "inspect",
        message: `node ${node} reports machine type "unknown"`,
        hint: "The node has no machine config yet: it is not part of a cluster to upgrade.",
      });
    }
    role = t === "worker" ? "worker" : "controlplane";
  } catch (e) {
    throw fromTalosctl(e, "inspect", node, `cannot read the role of node ${node}`);
  }
  let extensions: ExtensionSet;
  try {
    extensions = nodeSet(await talos.extensions(node, opts));
  } catch (e) {
    throw fromTalosctl(e, "inspect", node, `cannot read the extensions of node ${node}`);
  }
  // A legacy staged upgrade leaves its image in META key 0x07 (StagedUpgradeImageRef) until the
  // next boot. (An upgrade armed by a failed drain leaves no trace on the node: the report has it.)
  try {
    const [staged] = await talos.get(node, "MetaKeys.runtime.talos.dev", "0x07", opts);
    const value = (staged?.spec as { value?: unknown } | undefined)?.value;
    throw new DeployError({
      code: "DEPLOY_NODE_ARMED",
      node,
      step: "inspect",
      nodeState: "armed",
      message: `node ${node} has a staged upgrade${typeof value === "string" && value ? ` (${value})` : ""}: it switches version at its next reboot`,
      hint: "Reboot it (it comes back on the staged version) or roll it back, then plan again.",
    });
  } catch (e) {
    if (e instanceof DeployError) throw e;
    if (!isTalosctlError(e, "TALOSCTL_NOT_FOUND_RESOURCE"))
      throw fromTalosctl(e, "inspect", node, `cannot read META of node ${node}`);
  }
  return { node, version, role, extensions };
}

function mustParseOr(tag: string, node: string): TalosVersion {
  try {
    return mustParse(tag);
  } catch {
    throw new DeployError({
      code: "DEPLOY_NODE_VERSION_UNKNOWN",
      node,
      step: "inspect",
      message: `node ${node} reports an unreadable Talos version ${JSON.stringify(tag)}`,
      hint: "Check the node with `talosctl version`.",
    });
  }
}

/** Checks the options that need no node. */
export function checkPlanOptions(options: DeployPlanOptions): {
  nodes: string[];
  installer: InstallerContent;
  hops: InstallerContent[];
  maxParallel: number;
} {
  const installer = parseInstallerContent(options.installer, "installer");
  const hops = (options.hopInstallers ?? []).map((h, i) => parseInstallerContent(h, `hopInstallers[${i}]`));
  const maxParallel = options.maxParallel ?? 1;
  if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 256) {
    throw invalid(
      `maxParallel ${maxParallel} is not an integer from 1 to 256`,
      "Pass e.g. --max-parallel 3.",
    );
  }
  const nodes = options.nodes ?? options.talosctl.talosconfig?.nodes ?? [];
  if (nodes.length === 0) {
    throw invalid("no nodes to deploy to", "Pass --nodes, or set `nodes` in the talosconfig context.");
  }
  const seen = new Set<string>();
  for (const n of nodes) {
    if (seen.has(n)) throw invalid(`node ${n} is listed twice`, "List every node once.");
    seen.add(n);
  }
  for (const t of Object.values(options.timeouts ?? {})) {
    if (t !== undefined && (!Number.isFinite(t) || t < 0)) {
      throw invalid(`timeout ${t} is not a non-negative number of ms`, "Pass timeouts in milliseconds.");
    }
  }
  return { nodes, installer, hops, maxParallel };
}

/** Every extension of `installer` must fit the Talos version it installs. */
function checkConstraints(installer: InstallerContent): void {
  for (const e of installer.extensions) {
    const r = satisfiesConstraint(e.compatibility ?? "", installer.talosVersion);
    if (!r.ok) {
      throw new DeployError({
        code: "DEPLOY_INSTALLER_INCOMPATIBLE",
        step: "plan",
        message: `installer ${installer.reference}: extension ${e.name} ${e.version}: ${r.error}`,
        hint: "Rebuild the installer with extension versions built for this Talos version.",
      });
    }
  }
}

/**
 * Makes the plan: reads every node (at most 8 at once), then decides. Throws a `DeployError`
 * naming the node and step for a node that cannot be read and for every refusal.
 */
export async function planDeploy(options: DeployPlanOptions): Promise<DeployPlan> {
  const { nodes, installer, hops: hopInstallers, maxParallel } = checkPlanOptions(options);
  const talos = options.talosctl;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  for (const i of [installer, ...hopInstallers]) checkConstraints(i);

  const observed: Observed[] = new Array(nodes.length);
  const failures: unknown[] = new Array(nodes.length);
  let failed = false;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(8, nodes.length) }, async () => {
      while (next < nodes.length && !failed) {
        const i = next++;
        try {
          observed[i] = await observe(talos, nodes[i]!, timeouts.callMs);
        } catch (e) {
          failures[i] = e;
          failed = true;
        }
      }
    }),
  );
  // The failure of the first node in the given order, so the error is stable between runs.
  const first = failures.findIndex((f) => f !== undefined);
  if (first !== -1) throw failures[first];

  const armed = new Set(
    (options.previousReport?.nodes ?? []).filter((n) => n.outcome === "armed").map((n) => n.node),
  );
  const target = mustParse(installer.talosVersion);
  const byVersion = new Map<string, InstallerContent>();
  for (const h of [...hopInstallers, installer]) byVersion.set(mustParse(h.talosVersion).tag, h);
  const available = [...byVersion.keys()].map(mustParse);
  const remove = new Set(options.remove ?? []);
  const rebootMode = options.rebootMode ?? "default";

  const plans: NodePlan[] = [];
  // Checked in plan order (control planes first), so a refusal names the node that would fail first.
  const inOrder = [
    ...observed.filter((o) => o.role === "controlplane"),
    ...observed.filter((o) => o.role === "worker"),
  ];
  for (const o of inOrder) {
    if (armed.has(o.node)) {
      throw new DeployError({
        code: "DEPLOY_NODE_ARMED",
        node: o.node,
        step: "preflight",
        nodeState: "armed",
        message: `node ${o.node} was left armed by the previous run: an upgrade is installed and not booted`,
        hint: "Reboot it (it comes back on the new version) or roll it back, then plan again.",
      });
    }
    const diff = diffExtensions(o.extensions, installer.extensions);
    const atTarget = compareVersions(o.version, target) === 0 && sameSet(o.extensions, installer.extensions);
    const warnings: Diagnostic[] = [];
    const plan: NodePlan = {
      node: o.node,
      role: o.role,
      currentVersion: o.version.tag,
      targetVersion: target.tag,
      action: atTarget ? "skip" : "upgrade",
      hops: [],
      currentExtensions: o.extensions,
      extensions: diff,
      rebootMode,
      warnings,
    };
    plans.push(plan);
    if (atTarget) continue;

    const chain = hopChain(o.version, target, available);
    if (!chain) {
      const needed = requiredHops(o.version, target);
      const down = compareVersions(target, o.version) < 0;
      throw new DeployError({
        code: "DEPLOY_UPGRADE_WINDOW",
        node: o.node,
        step: "plan",
        message: down
          ? `node ${o.node} runs ${o.version.tag}; a downgrade to ${target.tag} needs a node below v${target.major}.${target.minor + 2}.0`
          : `node ${o.node} runs ${o.version.tag}; ${target.tag} needs a node at >= v${target.major}.${Math.max(0, target.minor - 2)}.0: upgrade in hops ${o.version.tag} -> ${needed.join(" -> ")}`,
        hint: "Build an installer for each hop (with the same extensions) and pass them as hopInstallers, or upgrade to the hops first.",
      });
    }
    // Every installer on the way must keep what the node runs (else extensions vanish mid-way).
    const expected = new Set(
      [...o.extensions.map((e) => e.name), ...(options.expect ?? [])].filter(
        (n) => !["modules.dep", "schematic", "embedded-config"].includes(n) && !remove.has(n),
      ),
    );
    let from = o.version.tag;
    for (const v of chain) {
      const inst = byVersion.get(v.tag)!;
      const names = new Set(inst.extensions.map((e) => e.name));
      for (const name of expected) {
        if (!names.has(name)) {
          throw new DeployError({
            code: "DEPLOY_INSTALLER_MISSING_EXTENSION",
            node: o.node,
            step: "plan",
            message: `installer ${inst.reference} lacks extension ${name}, which node ${o.node} ${o.extensions.some((e) => e.name === name) ? "runs now" : "is expected to run"}: the upgrade would remove it`,
            hint: `Rebuild the installer with ${name}, or allow dropping it (remove: ["${name}"], --remove ${name}).`,
          });
        }
      }
      let cmd: ReturnType<Talosctl["upgradeCommand"]>;
      try {
        cmd = talos.upgradeCommand(o.node, {
          image: inst.reference,
          serverVersion: from,
          rebootMode,
          ...(options.drain !== undefined ? { drain: options.drain } : {}),
          ...upgradeTimeouts(talos, from, options.drain, timeouts),
        });
      } catch (e) {
        if (isTalosctlError(e))
          throw fromTalosctl(e, "plan", o.node, `cannot build the upgrade command`, "DEPLOY_INVALID_INPUT");
        throw e;
      }
      const hop: PlanHop = {
        version: v.tag,
        image: inst.reference,
        fromVersion: from,
        path: cmd.path,
        command: cmd.argv,
      };
      if (inst.digest) hop.digest = inst.digest;
      plan.hops.push(hop);
      from = v.tag;
    }
    for (const r of diff.removed) {
      warnings.push(
        warn(
          "DEPLOY_EXTENSION_REMOVED",
          `node ${o.node}: extension ${r.name} ${r.from} is removed by the upgrade`,
          "As asked with remove; it is gone after the reboot.",
        ),
      );
    }
    const selfBuilt = plan.hops.some((h) => !FACTORY.test(h.image));
    if (selfBuilt && o.version.minor >= 13) {
      warnings.push(
        warn(
          "DEPLOY_IMAGE_VERIFICATION",
          `node ${o.node} runs ${o.version.tag}: an ImageVerificationConfig on it may refuse the unsigned installer ${plan.hops.find((h) => !FACTORY.test(h.image))!.image}`,
          "Check the machine config's ImageVerificationConfig rules, or sign the installer.",
        ),
      );
    }
    if (plan.hops.some((h) => h.digest === undefined)) {
      warnings.push(
        warn(
          "DEPLOY_NO_DIGEST",
          `node ${o.node}: the installer is given by tag only`,
          "Pass the digest from the installer's inspection so the plan names exactly what is pulled.",
        ),
      );
    }
  }

  const ordered = [
    ...plans.filter((p) => p.role === "controlplane"),
    ...plans.filter((p) => p.role === "worker"),
  ];
  const versions = [...new Set(ordered.flatMap((p) => p.hops.map((h) => h.version)))]
    .map(mustParse)
    .sort(compareVersions);
  const phases: PlanPhase[] = versions.map((v) => {
    const inPhase = ordered.filter((p) => p.hops.some((h) => h.version === v.tag));
    const workers = inPhase.filter((p) => p.role === "worker").map((p) => p.node);
    const workerBatches: string[][] = [];
    for (let i = 0; i < workers.length; i += maxParallel)
      workerBatches.push(workers.slice(i, i + maxParallel));
    return {
      version: v.tag,
      image: byVersion.get(v.tag)!.reference,
      controlPlanes: inPhase.filter((p) => p.role === "controlplane").map((p) => p.node),
      workerBatches,
    };
  });
  return {
    createdAt: new Date().toISOString(),
    clientVersion: talos.clientVersion.tag,
    installer,
    hopInstallers,
    maxParallel,
    drain: options.drain,
    timeouts,
    nodes: ordered,
    phases,
    warnings: ordered.flatMap((p) => p.warnings),
  };
}

/** The talosctl timeouts for one upgrade: tracking always, drain only where it exists. */
export function upgradeTimeouts(
  talos: Talosctl,
  fromVersion: string,
  drain: boolean | undefined,
  timeouts: Required<DeployTimeouts>,
): { trackTimeoutMs: number; drainTimeoutMs?: number } {
  const v = mustParse(fromVersion);
  const lifecycle = talos.features.lifecycleUpgrade && serverHasLifecycle(v);
  const out: { trackTimeoutMs: number; drainTimeoutMs?: number } = { trackTimeoutMs: timeouts.rebootMs };
  if (lifecycle && drain !== false) out.drainTimeoutMs = timeouts.drainMs;
  return out;
}
