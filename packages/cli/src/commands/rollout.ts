/**
 * `talos-ext deploy --extension NAME` (and `nx run NAME:deploy`): one extension from source to
 * verified nodes, as one task list: build (or take the built layout) -> push -> read the nodes ->
 * compose an installer that keeps what they run -> plan -> apply. `--dry-run` stops after the
 * plan and writes nothing: no build, no push, no installer, no upgrade; `--until installer`
 * stops once the installer is pushed (the Nx `installer` target).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { ConfigFile } from "@talos-ext/config";
import { connect, type DeployPlan, formatPlan, type InstallerContent, planDeploy } from "@talos-ext/deploy";
import {
  applyMirrors,
  build,
  type ImageMirror,
  parseMirror,
  planPlatform,
  pullLayout,
  pushLayout,
  type RegistryClientOptions,
} from "@talos-ext/image";
import {
  type Arch,
  buildEntry,
  type ComposedInstaller,
  composeInstaller,
  DEFAULT_CATALOG_IMAGE,
  type DesiredSet,
  defaultBaseInstaller,
  desiredSet,
  type ExtensionSetEntry,
  inspectInstaller,
  readNodeExtensions,
  readOfficialCatalog,
  routeFor,
} from "@talos-ext/installer";
import { type Platform, TalosExtError, validateExtension } from "@talos-ext/spec";
import type { Talosctl } from "@talos-ext/talosctl";
import { execa } from "execa";
import { type CommandContext, listOption, stringOption, usageError } from "../command.ts";
import { printJson } from "../report.ts";
import { type TaskList, taskList } from "../tasks.ts";
import { buildOptions, buildProgress } from "./build.ts";
import { applyConfirmed } from "./deploy.ts";
import { registryOptions } from "./registry-options.ts";
import { factoryClient } from "./schematic.ts";
import { platformsOption, workspaceConfig } from "./shared.ts";

/** Everything the pipeline needs, from flags over talos-ext.yaml over defaults. */
interface Settings {
  extension: string;
  config: ConfigFile | undefined;
  talosVersion: string;
  /** `<repository>/<extension>:<version>` is where the extension goes. */
  repository: string;
  /** Composed installers go to `<installerRepository>:<talosVersion>`. */
  installerRepository: string;
  registry: RegistryClientOptions;
  mirrors: ImageMirror[];
  /** A layout already built (the Nx build target's output); else the pipeline builds. */
  layout: string | undefined;
  nodes: string[] | undefined;
  /** Built and installed for; the first is the one whose manifest is read. */
  platforms: Platform[];
  official: string[];
  remove: string[];
}

/** A dry run pushes nothing: the entries it plans with carry this digest in place of the real one. */
const UNPUSHED = `sha256:${"0".repeat(64)}`;

const v = (version: string) => (version.startsWith("v") ? version : `v${version}`);

/** The host of `registry/repo`, for marking a configured plain-HTTP registry. */
const hostOf = (repository: string) => repository.split("/")[0]!;

async function settingsOf(ctx: CommandContext, extension: string): Promise<Settings> {
  const config = await workspaceConfig(ctx);
  const version = stringOption(ctx.values["talos-version"]) ?? config?.talos.version;
  if (!version) {
    throw usageError(
      "deploy --extension: no Talos version",
      "set talos.version in talos-ext.yaml or pass --talos-version V",
    );
  }
  const repository = (stringOption(ctx.values.registry) ?? config?.registry?.repository)?.replace(/\/+$/, "");
  if (!repository) {
    throw usageError(
      "deploy --extension: no registry to push to",
      "set registry.repository in talos-ext.yaml or pass --registry REPO (e.g. registry.example/ext)",
    );
  }
  const installerRepository =
    stringOption(ctx.values["installer-repository"]) ??
    config?.installer?.repository ??
    `${repository}/installer`;
  const registry = registryOptions(ctx);
  // A registry the workspace marks insecure is plain HTTP for that host only.
  if (config?.registry?.insecure && registry.insecure !== true) {
    const hosts = Array.isArray(registry.insecure) ? registry.insecure : [];
    registry.insecure = [...new Set([...hosts, hostOf(repository), hostOf(installerRepository)])];
  }
  if (config?.registry?.caFile && !registry.caFile) registry.caFile = config.registry.caFile;
  const given = listOption(ctx.values.mirror);
  const mirrors = (given.length ? given : (config?.mirrors?.images ?? [])).map(parseMirror);
  const layoutFlag = stringOption(ctx.values.layout);
  const nodesFlag = listOption(ctx.values.nodes);
  const configured = [
    ...(config?.cluster?.nodes?.controlPlane ?? []),
    ...(config?.cluster?.nodes?.worker ?? []),
  ];
  return {
    extension,
    config,
    talosVersion: v(version),
    repository,
    installerRepository,
    registry,
    mirrors,
    layout: layoutFlag ? resolve(ctx.io.cwd, layoutFlag) : undefined,
    nodes: nodesFlag.length ? nodesFlag : configured.length ? configured : undefined,
    platforms: platformsOption(ctx, (config?.platforms as Platform[] | undefined) ?? ["linux/amd64"]),
    official: [...(config?.extensions?.official ?? []), ...listOption(ctx.values.official)],
    remove: [...(config?.extensions?.remove ?? []), ...listOption(ctx.values.remove)],
  };
}

/** The image: the given layout, or a fresh build into dist/extensions/<name>. Dry runs build nothing. */
async function imageStep(
  ctx: CommandContext,
  s: Settings,
  tasks: TaskList,
  dryRun: boolean,
): Promise<string | undefined> {
  if (s.layout && ctx.values["nx-build"] === true && !dryRun) {
    await tasks.run(`nx run ${s.extension}:build`, async () => {
      await nxBuild(ctx, s.extension);
      return { value: undefined, detail: s.layout };
    });
  }
  if (s.layout) {
    if (!existsSync(s.layout)) {
      if (dryRun) {
        tasks.note(`image: would build ${s.extension} into ${s.layout}`);
        return undefined;
      }
      throw usageError(
        `--layout ${s.layout}: no such image layout`,
        `build it first: talos-ext build ${s.extension}`,
      );
    }
    tasks.note(`image: ${s.layout}`);
    return s.layout;
  }
  const ctxWithOut = {
    ...ctx,
    values: { ...ctx.values, output: `dist/extensions/${s.extension}`, "talos-version": s.talosVersion },
  };
  const options = await buildOptions(ctxWithOut, s.extension, s.config);
  if (dryRun) {
    const packages = [];
    for (const p of options.platforms) packages.push((await planPlatform(options, p)).plan);
    tasks.note(
      `image: would build ${s.extension} (${packages.map((p) => `${p.platform}: ${p.packages.join(" -> ")}`).join("; ")}) into ${options.outDir}`,
    );
    return existsSync(options.outDir) ? options.outDir : undefined;
  }
  return tasks.run(`build ${s.extension}`, async () => {
    const result = await build({
      ...options,
      onEvent: buildProgress(ctx),
      pullImage: (ref, dir) => pullLayout(ref, dir, s.registry).then(() => {}),
    });
    return { value: result.outDir, detail: result.digest };
  });
}

/**
 * The Nx targets pass --nx-build: the build goes through Nx (`nx run NAME:build`), so an
 * unchanged extension comes from Nx's cache, and a dry run does not build at all (a dependsOn
 * would build even then, and fail where the base images are out of reach). Nx's output goes to
 * stderr, line by line, so --json keeps stdout for the result.
 */
async function nxBuild(ctx: CommandContext, extension: string): Promise<void> {
  const run = execa("nx", ["run", `${extension}:build`, "--output-style=static"], {
    cwd: ctx.io.cwd,
    env: { ...ctx.io.env, NX_DAEMON: "false", NX_TUI: "false" },
    extendEnv: false,
    preferLocal: true,
    all: true,
    reject: false,
  });
  for await (const line of run.iterable({ from: "all" })) ctx.io.stderr(`  ${line}\n`);
  const r = await run;
  if (r.exitCode !== 0) {
    throw new TalosExtError({
      code: "CLI_NX_BUILD_FAILED",
      message: `nx run ${extension}:build failed (${r.failed && r.exitCode === undefined ? r.shortMessage : `exit ${r.exitCode}`})`,
      hint: `its output is above; run nx run ${extension}:build on its own to iterate`,
    });
  }
}

/** The manifest of the built image decides the tag nodes will report: `<repo>/<name>:<version>`. */
async function manifestOf(layout: string, s: Settings) {
  const report = await validateExtension(layout, { platform: s.platforms[0]!, talosVersion: s.talosVersion });
  if (!report.ok || !report.manifest) {
    const first = report.diagnostics.find((d) => d.severity === "error");
    throw new TalosExtError({
      code: "EXTSET_INVALID",
      message: `${layout} is not a valid extension image${first ? `: ${first.code} ${first.message}` : ""}`,
      hint: `run talos-ext validate ${layout}`,
      diagnostics: report.diagnostics,
    });
  }
  return report.manifest.metadata;
}

/** Every node must run the same extensions: one installer serves them all. */
async function currentSet(talosctl: Talosctl, nodes: string[]) {
  const sets = await Promise.all(nodes.map((n) => readNodeExtensions(talosctl, n)));
  const key = (entries: ExtensionSetEntry[]) =>
    entries
      .map((e) => `${e.name} ${e.version ?? "?"}`)
      .sort()
      .join(", ");
  const first = key(sets[0]!.entries);
  const other = sets.findIndex((x) => key(x.entries) !== first);
  if (other > 0) {
    throw new TalosExtError({
      code: "CLI_NODE_SETS_DIFFER",
      message: `nodes run different extensions: ${nodes[0]} has [${first}], ${nodes[other]} has [${key(sets[other]!.entries)}]`,
      hint: "one installer serves every node it is rolled out to: deploy each group with --nodes",
    });
  }
  return sets[0]!;
}

/** What a dry run knows of the installer: the set it would hold, not yet its digest. */
function plannedContent(s: Settings, set: DesiredSet, reference: string): InstallerContent {
  return {
    reference,
    talosVersion: s.talosVersion,
    extensions: set.entries.map((e) => ({
      name: e.name,
      version: e.version ?? "unknown",
      ...(e.talos ? { compatibility: e.talos } : {}),
    })),
  };
}

/** The composed installer as deploy sees it: read back from what was pushed (imager route). */
async function composedContent(
  s: Settings,
  set: DesiredSet,
  composed: ComposedInstaller,
): Promise<InstallerContent> {
  if (composed.route === "factory") return plannedContent(s, set, composed.ref);
  const report = await inspectInstaller(composed.ref, { ...s.registry, arch: archOf(s.platforms[0]!) });
  const at = composed.ref.indexOf("@");
  return {
    reference: composed.ref,
    ...(at > 0 ? { digest: composed.ref.slice(at + 1) } : {}),
    talosVersion: report.talosVersion ?? s.talosVersion,
    extensions: report.extensions.map((e) => ({
      name: e.name,
      version: e.version,
      ...(e.talos ? { compatibility: e.talos } : {}),
    })),
  };
}

const archOf = (p: Platform): Arch => (p === "linux/arm64" ? "arm64" : "amd64");

/** Runs the pipeline; returns the exit code. */
export async function runRollout(ctx: CommandContext, extension: string): Promise<number> {
  const dryRun = ctx.values["dry-run"] === true;
  const until = stringOption(ctx.values.until);
  if (until !== undefined && until !== "installer") {
    throw usageError(`deploy: --until must be installer, not "${until}"`);
  }
  const s = await settingsOf(ctx, extension);
  const tasks = taskList(ctx);
  const out: Record<string, unknown> = { extension, talosVersion: s.talosVersion, dryRun };

  // The nodes first: a cluster the pipeline cannot serve stops it before anything is built or pushed.
  const talosconfig = stringOption(ctx.values.talosconfig) ?? s.config?.cluster?.talosconfig;
  const context = stringOption(ctx.values.context) ?? s.config?.cluster?.context;
  const talosctl = await connect({
    env: ctx.io.env,
    ...(talosconfig ? { talosconfig: resolve(ctx.io.cwd, talosconfig) } : {}),
    ...(context ? { context } : {}),
  });
  const nodes = s.nodes ?? talosctl.talosconfig?.nodes ?? [];
  if (nodes.length === 0) {
    throw usageError(
      "deploy --extension: no nodes",
      "set cluster.nodes in talos-ext.yaml, pass --nodes, or set nodes in the talosconfig context",
    );
  }
  const node = await tasks.run(`read ${nodes.length} node(s)`, async () => {
    const set = await currentSet(talosctl, nodes);
    return { value: set, detail: set.entries.map((e) => e.name).join(", ") || "no extensions" };
  });

  const layout = await imageStep(ctx, s, tasks, dryRun);
  let entry: ExtensionSetEntry | undefined;
  let version: string;
  if (layout) {
    const md = await manifestOf(layout, s);
    version = md.version;
    const ref = `${s.repository}/${md.name}:${md.version}`;
    if (dryRun) {
      tasks.note(`push: would push ${layout} to ${ref}`);
      entry = await buildEntry(layout, `${ref}@${UNPUSHED}`, {
        platform: s.platforms[0]!,
        talosVersion: s.talosVersion,
      });
    } else {
      const pushed = await tasks.run(`push ${ref}`, async () => {
        const r = await pushLayout(layout, ref, s.registry);
        return { value: r.digest, detail: r.digest };
      });
      entry = await buildEntry(layout, `${ref}@${pushed}`, {
        platform: s.platforms[0]!,
        talosVersion: s.talosVersion,
      });
    }
    out.image = { layout, reference: entry.image };
  } else {
    // Dry run before any build: the entry stands for the image to come (its version is the
    // manifest's, known once built).
    version = "unbuilt";
    tasks.note(`push: would push ${s.repository}/${extension}:<manifest version> once built`);
    entry = { name: extension, origin: "build", version, image: `${s.repository}/${extension}@${UNPUSHED}` };
  }

  const catalogImage = applyMirrors(
    stringOption(ctx.values["catalog-image"]) ?? DEFAULT_CATALOG_IMAGE,
    s.mirrors,
  );
  const needsCatalog = node.entries.length > 0 || s.official.length > 0;
  const catalog = needsCatalog
    ? await readOfficialCatalog(s.talosVersion, { ...s.registry, image: catalogImage })
    : undefined;
  const set = desiredSet({
    current: node.entries,
    requested: [...s.official, ...(entry ? [entry] : [])],
    remove: s.remove,
    ...(catalog ? { catalog } : {}),
    talosVersion: s.talosVersion,
  });
  const route = routeFor(set.entries);
  const target = `${s.installerRepository}:${s.talosVersion}`;
  const kernelArgs = node.schematic?.schematic?.customization?.extraKernelArgs ?? [];
  out.installer = { route, target, diff: set.diff, unresolved: set.unresolved, kernelArgs };
  if (!ctx.json) {
    const d = set.diff;
    const parts = [
      ...d.kept.map((e) => `=${e.name}`),
      ...d.changed.map((c) => `~${c.name} ${c.from.version ?? "?"}->${c.to.version ?? "?"}`),
      ...d.added.map((e) => `+${e.name}`),
      ...d.removed.map((e) => `-${e.name}`),
    ];
    tasks.note(`installer: ${route} route, ${parts.join(" ") || "no extensions"} -> ${target}`);
  }
  if (set.unresolved.length) {
    throw new TalosExtError({
      code: "EXTSET_INVALID",
      message: `the nodes run ${set.unresolved.join(", ")}, which no image provides (nodes do not record images)`,
      hint: "deploy those extensions from this workspace too, or remove them with --remove NAME",
    });
  }

  let content: InstallerContent;
  if (dryRun) content = plannedContent(s, set, target);
  else {
    const arches = [...new Set(s.platforms.map(archOf))];
    const imagerBinary = stringOption(ctx.values.imager) ?? s.config?.installer?.imager?.binary;
    const composed = await tasks.run(`compose installer (${route})`, async () => {
      const c = await composeInstaller({
        // The imager pulls every extension itself: mirrored references reach the same digests.
        entries: set.entries.map((e) => (e.image ? { ...e, image: applyMirrors(e.image, s.mirrors) } : e)),
        version: s.talosVersion,
        arches,
        target,
        baseInstaller: applyMirrors(defaultBaseInstaller(s.talosVersion), s.mirrors),
        ...(route === "factory" ? { factory: factoryClient(ctx) } : {}),
        ...(imagerBinary ? { imagerBinary: resolve(ctx.io.cwd, imagerBinary) } : {}),
        ...(s.config?.installer?.platform ? { platform: s.config.installer.platform } : {}),
        ...(kernelArgs.length ? { extraKernelArgs: kernelArgs } : {}),
        workDir: resolve(ctx.io.cwd, "_out"),
        insecure:
          s.registry.insecure === true ||
          (Array.isArray(s.registry.insecure) && s.registry.insecure.length > 0),
        registry: s.registry,
      });
      return { value: c, detail: c.ref };
    });
    content = await composedContent(s, set, composed);
    out.installer = { ...(out.installer as object), reference: composed.ref, content };
    if (until === "installer") {
      tasks.summary();
      if (ctx.json) printJson(ctx.io, { ok: true, ...out, tasks: tasks.records });
      else ctx.io.stdout(`${composed.ref}\n`);
      return 0;
    }
  }

  const rollout = s.config?.rollout;
  const maxParallel = stringOption(ctx.values["max-parallel"]);
  if (maxParallel !== undefined && !/^[1-9]\d{0,2}$/.test(maxParallel)) {
    throw usageError(`deploy: --max-parallel must be a positive integer, not "${maxParallel}"`);
  }
  const plan: DeployPlan = await tasks.run("plan the rollout", async () => {
    const p = await planDeploy({
      talosctl,
      installer: content,
      nodes,
      remove: s.remove,
      ...(maxParallel
        ? { maxParallel: Number(maxParallel) }
        : rollout?.maxParallel
          ? { maxParallel: rollout.maxParallel }
          : {}),
      ...(rollout?.rebootMode ? { rebootMode: rollout.rebootMode } : {}),
    });
    return { value: p, detail: `${p.nodes.filter((n) => n.action === "upgrade").length} to upgrade` };
  });
  out.plan = plan;
  if (dryRun) {
    tasks.summary();
    if (ctx.json) printJson(ctx.io, { ok: true, ...out, tasks: tasks.records });
    else
      ctx.io.stdout(
        `${formatPlan(plan)}dry run: nothing was built, pushed, composed or upgraded (${version})\n`,
      );
    return 0;
  }
  if (!ctx.json) ctx.io.stderr(formatPlan(plan));
  const report = await applyConfirmed(ctx, plan, talosctl, {
    rollbackOnFailure: ctx.values["rollback-on-failure"] === true || rollout?.rollbackOnFailure === true,
    reportFile: stringOption(ctx.values.report),
  });
  tasks.summary();
  if (ctx.json) printJson(ctx.io, { ok: report.ok, ...out, report, tasks: tasks.records });
  else
    ctx.io.stdout(
      `${report.ok ? "deployed" : "stopped"}: ${extension} ${version} with ${content.reference}\n`,
    );
  return report.ok ? 0 : 1;
}
