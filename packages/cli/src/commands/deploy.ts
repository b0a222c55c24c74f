import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  applyPlan,
  connect,
  createInterrupt,
  type DeployEvent,
  type DeployPlan,
  type DeployReport,
  formatPlan,
  formatReport,
  type InstallerContent,
  parseInstallerContent,
  planDeploy,
} from "@talos-ext/deploy";
import { TalosExtError } from "@talos-ext/spec";
import type { Talosctl } from "@talos-ext/talosctl";
import { type Command, type CommandContext, listOption, stringOption, usageError } from "../command.ts";
import { printJson } from "../report.ts";
import { REGISTRY_OPTIONS } from "./registry-options.ts";
import { runRollout } from "./rollout.ts";
import { FACTORY_OPTIONS } from "./schematic.ts";
import { BUILD_ARG_OPTION, CONFIG_OPTION, ROOT_OPTION } from "./shared.ts";

/** Reads a JSON file the user named; unreadable or malformed is a usage-level input error. */
async function readJson(ctx: CommandContext, file: string, what: string): Promise<unknown> {
  const path = resolve(ctx.io.cwd, file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new TalosExtError({
      code: "DEPLOY_INVALID_INPUT",
      message: `${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      hint: "Pass a readable JSON file.",
      location: { file: path },
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TalosExtError({
      code: "DEPLOY_INVALID_INPUT",
      message: `${what} ${file} is not JSON: ${(e as Error).message}`,
      location: { file: path },
    });
  }
}

async function installerOf(ctx: CommandContext): Promise<InstallerContent> {
  const file = stringOption(ctx.values["installer-content"]);
  const ref = stringOption(ctx.values.installer);
  if (!file) {
    throw usageError(
      `deploy: --installer-content FILE is required${ref ? ` (what ${ref} installs)` : ""}`,
      "Describe the installer as JSON: { reference, digest, talosVersion, extensions: [{ name, version }] }.",
    );
  }
  const content = parseInstallerContent(await readJson(ctx, file, "installer content"), file);
  if (ref && ref !== content.reference) {
    throw usageError(
      `deploy: --installer ${ref} is not the reference of ${file} (${content.reference})`,
      "Pass the installer the content describes.",
    );
  }
  return content;
}

function intOption(ctx: CommandContext, name: string): number | undefined {
  const v = stringOption(ctx.values[name]);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw usageError(`deploy: --${name} must be a positive integer, not "${v}"`);
  return Number(v);
}

function ms(n: number): string {
  return n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`;
}

function progressLine(e: DeployEvent): string | undefined {
  switch (e.type) {
    case "node-start":
      return `${e.node}: upgrading to ${e.version}`;
    case "step":
      return `${e.node}: ${e.step} ${e.ok ? "ok" : "FAILED"} (${ms(e.durationMs)})`;
    case "node-done":
      return `${e.node}: ${e.outcome} (${ms(e.durationMs)})`;
    case "node-skipped":
      return `${e.node}: skipped (already at the target)`;
    case "stopping":
      return e.reason === "abort"
        ? "interrupted: writing the report"
        : `stopping: ${e.node} failed; no further node is touched`;
    default:
      return undefined;
  }
}

/** Asks on the terminal; refuses without one. */
async function confirm(ctx: CommandContext, nodes: number): Promise<void> {
  if (ctx.values.yes === true) return;
  if (!ctx.io.stdinInteractive || !ctx.io.prompt) {
    throw new TalosExtError({
      code: "CLI_DEPLOY_NOT_CONFIRMED",
      message: "deploy apply: not confirmed (stdin is not a terminal)",
      hint: "Review `talos-ext deploy plan`, then pass --yes.",
    });
  }
  const answer = (await ctx.io.prompt(`Upgrade ${nodes} node(s) as planned above? [y/N] `))
    .trim()
    .toLowerCase();
  if (answer !== "y" && answer !== "yes") {
    throw new TalosExtError({
      code: "CLI_DEPLOY_NOT_CONFIRMED",
      message: "deploy apply: not confirmed",
      hint: "Nothing was changed.",
    });
  }
}

/** Options of {@link applyConfirmed}. */
export interface ApplyRunOptions {
  rollbackOnFailure: boolean;
  /** Also write the report here (relative to the working directory). */
  reportFile: string | undefined;
}

/**
 * Asks (or takes --yes), then runs the plan with a progress line per step on stderr; Ctrl-C
 * finishes the node in flight, twice stops at once. The caller prints the report.
 */
export async function applyConfirmed(
  ctx: CommandContext,
  plan: DeployPlan,
  talosctl: Talosctl,
  options: ApplyRunOptions,
): Promise<DeployReport> {
  const upgrading = plan.nodes.filter((n) => n.action === "upgrade").length;
  await confirm(ctx, upgrading);
  const int = createInterrupt();
  const onSigint = () => {
    ctx.io.stderr(
      int.signal.aborted
        ? "\nstopping at once\n"
        : "\ninterrupt: finishing the node in flight (Ctrl-C again to stop at once)\n",
    );
    int.interrupt();
  };
  process.on("SIGINT", onSigint);
  let report: DeployReport;
  try {
    report = await applyPlan(plan, {
      talosctl,
      signal: int.signal,
      hardSignal: int.hardSignal,
      rollbackOnFailure: options.rollbackOnFailure,
      ...(options.reportFile ? { reportFile: resolve(ctx.io.cwd, options.reportFile) } : {}),
      onEvent: (e) => {
        if (ctx.json) return;
        const line = progressLine(e);
        if (line) ctx.io.stderr(`${line}\n`);
      },
    });
  } finally {
    process.off("SIGINT", onSigint);
  }
  return report;
}

export const deployCommand: Command = {
  name: "deploy",
  summary: "plan or roll out an installer to Talos nodes (one node at a time, verified)",
  description: [
    "plan: reads every node (version, role, extensions) and prints per node the target version,",
    "the extension diff, the reboot mode and the exact talosctl command; refuses what cannot work",
    "(upgrade window, an installer that drops an extension, an armed node).",
    "apply: runs the plan: control planes one at a time with etcd checked before each, workers in",
    "batches of --max-parallel; after each node checks its version, extensions, ext-* services and",
    "health; stops at the first failure. Ctrl-C: finish the node in flight; twice: stop at once.",
    "--extension NAME: the whole path, settings from talos-ext.yaml: build (or --layout), push to",
    "<registry>/<name>:<version>, read the nodes, compose an installer that keeps what they run,",
    "plan, apply. --dry-run prints every step and the plan and changes nothing.",
  ].join("\n"),
  positionals: [{ name: "action", required: false, description: "plan | apply (not with --extension)" }],
  options: {
    extension: {
      type: "string",
      value: "NAME",
      description: "the whole path for one extension: build, push, installer, plan, apply",
    },
    layout: {
      type: "string",
      value: "DIR",
      description: "--extension: the built OCI layout (default: build it now)",
    },
    "nx-build": {
      type: "boolean",
      description: "--extension: build through Nx first (cached) into --layout; skipped by --dry-run",
    },
    "dry-run": {
      type: "boolean",
      description: "--extension: print the whole plan; build, push and change nothing",
    },
    until: { type: "string", value: "STEP", description: "--extension: stop after installer (pushed)" },
    registry: {
      type: "string",
      value: "REPO",
      description: "--extension: push to REPO/<name>:<version> (default registry.repository)",
    },
    "installer-repository": {
      type: "string",
      value: "REPO",
      description: "--extension: installers go to REPO:<talos version> (default <registry>/installer)",
    },
    "talos-version": { type: "string", value: "V", description: "--extension: target Talos version" },
    official: {
      type: "string",
      multiple: true,
      value: "NAME",
      description: "--extension: also add an official extension",
    },
    imager: { type: "string", value: "BIN", description: "--extension: a local imager binary" },
    "catalog-image": {
      type: "string",
      value: "REPO",
      description: "--extension: official catalog image (default ghcr.io/siderolabs/extensions)",
    },
    ...ROOT_OPTION,
    ...CONFIG_OPTION,
    ...BUILD_ARG_OPTION,
    platform: { type: "string", value: "LIST", description: "--extension: platforms to build" },
    engine: { type: "string", value: "KIND", description: "--extension: auto, buildx, docker or buildctl" },
    offline: { type: "boolean", description: "--extension: use only the source cache" },
    mirror: {
      type: "string",
      multiple: true,
      value: "FROM=TO",
      description: "image prefix mirror (base images, catalog, base installer)",
    },
    "source-mirror": {
      type: "string",
      multiple: true,
      value: "FROM=TO",
      description: "source URL prefix mirror",
    },
    "cache-dir": { type: "string", value: "DIR", description: "source cache directory" },
    ...REGISTRY_OPTIONS,
    ...FACTORY_OPTIONS,
    nodes: {
      type: "string",
      multiple: true,
      value: "N,N",
      description: "nodes (default: the talosconfig context's)",
    },
    installer: {
      type: "string",
      value: "REF",
      description: "installer reference (must match --installer-content)",
    },
    "installer-content": {
      type: "string",
      value: "FILE",
      description:
        "JSON: { reference, digest, talosVersion, extensions: [{ name, version, compatibility }] }",
    },
    "hop-installer": {
      type: "string",
      multiple: true,
      value: "FILE",
      description: "installer content of an intermediate version",
    },
    "max-parallel": { type: "string", value: "N", description: "workers upgraded at once (default 1)" },
    "rollback-on-failure": {
      type: "boolean",
      description: "roll the failed node back and check its old version",
    },
    remove: {
      type: "string",
      multiple: true,
      value: "NAME",
      description: "extension the installer may drop",
    },
    "reboot-mode": { type: "string", value: "MODE", description: "default | powercycle" },
    "previous-report": {
      type: "string",
      value: "FILE",
      description: "report of an earlier run (its armed nodes are refused)",
    },
    report: { type: "string", value: "FILE", description: "apply: also write the report here" },
    talosconfig: { type: "string", value: "FILE", description: "talosconfig (default $TALOSCONFIG)" },
    context: { type: "string", value: "NAME", description: "talosconfig context" },
    yes: { type: "boolean", short: "y", description: "apply without asking" },
  },
  examples: [
    "talos-ext deploy --extension hello-service --dry-run",
    "talos-ext deploy --extension multipath-tools --layout dist/extensions/multipath-tools --yes",
    "talos-ext deploy plan --installer-content installer.json --nodes 10.5.0.2,10.5.0.3,10.5.0.4",
    "talos-ext deploy apply --installer-content installer.json --max-parallel 3 --rollback-on-failure --yes",
    "talos-ext deploy apply --installer-content installer.json --json --yes > report.json",
  ],
  async run(ctx) {
    const action = ctx.positionals[0];
    const extension = stringOption(ctx.values.extension);
    if (extension !== undefined) {
      if (action !== undefined) {
        throw usageError(
          `deploy: --extension runs the whole path; drop "${action}"`,
          "use --dry-run to see the plan",
        );
      }
      return runRollout(ctx, extension);
    }
    if (action !== "plan" && action !== "apply")
      throw usageError(`deploy: unknown action "${action}"`, "Use plan or apply.");
    const installer = await installerOf(ctx);
    const hopInstallers = await Promise.all(
      listOption(ctx.values["hop-installer"]).map(async (f) =>
        parseInstallerContent(await readJson(ctx, f, "hop installer"), f),
      ),
    );
    const rebootMode = stringOption(ctx.values["reboot-mode"]);
    if (rebootMode !== undefined && rebootMode !== "default" && rebootMode !== "powercycle") {
      throw usageError(`deploy: --reboot-mode must be default or powercycle, not "${rebootMode}"`);
    }
    const previousFile = stringOption(ctx.values["previous-report"]);
    const previous = previousFile
      ? ((await readJson(ctx, previousFile, "previous report")) as DeployReport)
      : undefined;
    if (previous !== undefined && !Array.isArray(previous?.nodes)) {
      throw usageError(`deploy: ${previousFile} is not a deploy report (no nodes)`);
    }
    const talosconfig = stringOption(ctx.values.talosconfig);
    const context = stringOption(ctx.values.context);
    const talosctl = await connect({
      env: ctx.io.env,
      ...(talosconfig ? { talosconfig: resolve(ctx.io.cwd, talosconfig) } : {}),
      ...(context ? { context } : {}),
    });
    const nodes = listOption(ctx.values.nodes);
    const maxParallel = intOption(ctx, "max-parallel");
    const plan = await planDeploy({
      talosctl,
      installer,
      hopInstallers,
      ...(nodes.length ? { nodes } : {}),
      ...(maxParallel !== undefined ? { maxParallel } : {}),
      ...(rebootMode ? { rebootMode } : {}),
      remove: listOption(ctx.values.remove),
      ...(previous ? { previousReport: previous } : {}),
    });
    if (action === "plan") {
      if (ctx.json) printJson(ctx.io, { ok: true, plan });
      else ctx.io.stdout(formatPlan(plan));
      return 0;
    }
    if (!ctx.json) ctx.io.stderr(formatPlan(plan));
    const report = await applyConfirmed(ctx, plan, talosctl, {
      rollbackOnFailure: ctx.values["rollback-on-failure"] === true,
      reportFile: stringOption(ctx.values.report),
    });
    if (ctx.json) printJson(ctx.io, report);
    else ctx.io.stdout(formatReport(report));
    return report.ok ? 0 : 1;
  },
};
