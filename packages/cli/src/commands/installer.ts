import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type Arch,
  composeInstaller,
  DEFAULT_CATALOG_IMAGE,
  desiredSet,
  diffSets,
  type ExtensionDiff,
  type ExtensionRequest,
  type ExtensionSetEntry,
  extensionEntry,
  inspectInstaller,
  nodeExtensions,
  readOfficialCatalog,
  routeFor,
} from "@talos-ext/installer";
import { type Command, type CommandContext, listOption, stringOption, usageError } from "../command.ts";
import type { CliIo } from "../io.ts";
import { printJson } from "../report.ts";
import { REGISTRY_OPTIONS, registryOptions } from "./registry-options.ts";
import { FACTORY_OPTIONS, factoryClient } from "./schematic.ts";

const ACTIONS = ["compose", "inspect", "diff"] as const;

/** Reads `talosctl get extensions -o json` output: a JSON array, or a stream of objects. */
async function readNodeExtensions(io: CliIo, arg: string) {
  const text = await readFile(resolve(io.cwd, arg), "utf8");
  const trimmed = text.trim();
  let items: unknown[];
  try {
    if (trimmed === "") items = [];
    else if (trimmed.startsWith("[")) items = JSON.parse(trimmed) as unknown[];
    else {
      // talosctl prints one pretty-printed object after another: split at top-level braces.
      items = [];
      let depth = 0;
      let start = -1;
      let inString = false;
      for (let i = 0; i < trimmed.length; i++) {
        const c = trimmed[i];
        if (inString) {
          if (c === "\\") i++;
          else if (c === '"') inString = false;
          continue;
        }
        if (c === '"') inString = true;
        else if (c === "{") {
          if (depth++ === 0) start = i;
        } else if (c === "}" && --depth === 0) items.push(JSON.parse(trimmed.slice(start, i + 1)));
      }
    }
  } catch (e) {
    throw usageError(
      `--current ${arg}: not talosctl JSON output (${(e as Error).message})`,
      "pass `talosctl get extensions -o json` output",
    );
  }
  return nodeExtensions(items);
}

const named = (e: ExtensionSetEntry) => (e.version ? `${e.name} ${e.version}` : e.name);

function printDiff(io: CliIo, diff: ExtensionDiff): void {
  for (const e of diff.kept) io.stdout(`  = ${named(e)}\n`);
  for (const c of diff.changed)
    io.stdout(`  ~ ${c.name} ${c.from.version ?? "?"} -> ${c.to.version ?? "?"}\n`);
  for (const e of diff.added) io.stdout(`  + ${named(e)}\n`);
  for (const e of diff.removed) io.stdout(`  - ${named(e)}\n`);
}

/** `--build NAME=REF@sha256:...` as a build entry. */
function buildRequests(ctx: CommandContext): ExtensionRequest[] {
  return listOption(ctx.values.build).map((item) => {
    const eq = item.indexOf("=");
    if (eq <= 0) throw usageError(`--build "${item}": expected NAME=REF@sha256:<hex>`);
    return extensionEntry({ name: item.slice(0, eq), image: item.slice(eq + 1), origin: "build" });
  });
}

export const installerCommand: Command = {
  name: "installer",
  summary: "installers with extensions: compose (factory or imager), inspect, diff against a node",
  description: [
    "compose  desired set = the node's extensions (--current) + --official/--build - --remove;",
    "         all official: a factory reference; any custom: the imager per --arch, pushed to --target",
    "inspect  <installer>: the extensions a node booted from it will report (tar, OCI layout or ref)",
    "diff     <installer> --current FILE: what upgrading the node with that installer changes",
  ].join("\n"),
  positionals: [
    { name: "action", required: true, description: `one of ${ACTIONS.join(", ")}` },
    {
      name: "installer",
      required: false,
      description: "inspect/diff: docker-archive, OCI layout or reference",
    },
  ],
  options: {
    ...REGISTRY_OPTIONS,
    ...FACTORY_OPTIONS,
    current: {
      type: "string",
      value: "FILE",
      description: "the node's `talosctl get extensions -o json` output",
    },
    official: {
      type: "string",
      multiple: true,
      value: "NAME",
      description: "compose: add an official extension",
    },
    build: {
      type: "string",
      multiple: true,
      value: "NAME=REF",
      description: "compose: add our build (pinned by digest)",
    },
    remove: {
      type: "string",
      multiple: true,
      value: "NAME",
      description: "compose: remove an extension by name",
    },
    "talos-version": { type: "string", value: "V", description: "compose: target Talos version" },
    arch: { type: "string", multiple: true, value: "ARCH", description: "amd64 (default) or arm64" },
    platform: { type: "string", value: "P", description: "compose: platform (default metal)" },
    target: {
      type: "string",
      value: "REF",
      description: "compose (imager route): where to push the installer",
    },
    imager: { type: "string", value: "BIN", description: "compose: a local imager binary instead of docker" },
    "catalog-image": {
      type: "string",
      value: "REPO",
      description: `official catalog image (default ${DEFAULT_CATALOG_IMAGE})`,
    },
    "dry-run": { type: "boolean", description: "compose: print the diff and the route, build nothing" },
    "kernel-arg": {
      type: "string",
      multiple: true,
      value: "ARG",
      description: "compose: kernel arg baked into the installer (default: the node schematic's)",
    },
  },
  examples: [
    "talos-ext installer inspect _out/installer-amd64.tar",
    "talos-ext installer diff registry.example/ext/installer:v1.11.2 --current node.json",
    "talos-ext installer compose --current node.json --build multipath-tools=registry.example/ext/multipath-tools:0.0.5@sha256:... --talos-version v1.11.2 --target registry.example/ext/installer:v1.11.2 --dry-run",
  ],
  async run(ctx) {
    const action = ctx.positionals[0] as string;
    if (!(ACTIONS as readonly string[]).includes(action))
      throw usageError(`installer: unknown action "${action}"`, `actions: ${ACTIONS.join(", ")}`);
    const arches = listOption(ctx.values.arch) as Arch[];
    const registry = registryOptions(ctx);
    if (action === "inspect" || action === "diff") {
      const input = ctx.positionals[1];
      if (!input) throw usageError(`installer ${action}: missing argument <installer>`);
      const local = resolve(ctx.io.cwd, input);
      const arg = (await import("node:fs")).existsSync(local) ? local : input;
      const report = await inspectInstaller(arg, { ...registry, ...(arches[0] ? { arch: arches[0] } : {}) });
      if (action === "inspect") {
        if (ctx.json) {
          printJson(ctx.io, { ok: true, ...report });
          return 0;
        }
        ctx.io.stdout(
          `${report.source} (${report.sourceKind}): Talos ${report.talosVersion ?? "?"} ${report.arch}, ${report.boot}\n`,
        );
        if (report.uki) ctx.io.stdout(`  cmdline: ${report.uki.cmdline}\n`);
        if (report.extensions.length === 0) ctx.io.stdout("  no extensions\n");
        for (const e of report.extensions) ctx.io.stdout(`  ${e.id.padEnd(4)} ${e.name} ${e.version}\n`);
        return 0;
      }
      const currentFile = stringOption(ctx.values.current);
      if (!currentFile) throw usageError("installer diff: --current is required");
      const current = await readNodeExtensions(ctx.io, currentFile);
      const diff = diffSets(current.entries, report.set.entries);
      if (ctx.json) printJson(ctx.io, { ok: diff.removed.length === 0, diff });
      else printDiff(ctx.io, diff);
      // Losing an extension on upgrade is the failure this command exists to catch.
      return diff.removed.length === 0 ? 0 : 1;
    }
    const version = stringOption(ctx.values["talos-version"]);
    if (!version) throw usageError("installer compose: --talos-version is required");
    const currentFile = stringOption(ctx.values.current);
    const node = currentFile ? await readNodeExtensions(ctx.io, currentFile) : undefined;
    const current = node?.entries ?? [];
    // Kernel args live in the installer (the UKI from 1.10): keep the node's schematic's unless
    // others are given, or the upgrade drops them as it drops extensions.
    const givenArgs = listOption(ctx.values["kernel-arg"]);
    const kernelArgs =
      ctx.values["kernel-arg"] !== undefined
        ? givenArgs
        : (node?.schematic?.schematic?.customization?.extraKernelArgs ?? []);
    const official = listOption(ctx.values.official);
    const catalogImage = stringOption(ctx.values["catalog-image"]);
    const catalog =
      official.length > 0 || current.length > 0
        ? await readOfficialCatalog(version.startsWith("v") ? version : `v${version}`, {
            ...registry,
            ...(catalogImage ? { image: catalogImage } : {}),
          })
        : undefined;
    const set = desiredSet({
      current,
      requested: [...official, ...buildRequests(ctx)],
      remove: listOption(ctx.values.remove),
      ...(catalog ? { catalog } : {}),
      talosVersion: version,
    });
    const route = routeFor(set.entries);
    if (ctx.values["dry-run"] === true) {
      if (ctx.json) printJson(ctx.io, { ok: set.unresolved.length === 0, route, kernelArgs, ...set });
      else {
        ctx.io.stdout(`route: ${route}\n`);
        if (kernelArgs.length) ctx.io.stdout(`kernel args: ${kernelArgs.join(" ")}\n`);
        printDiff(ctx.io, set.diff);
        if (set.unresolved.length) ctx.io.stdout(`unresolved (no image): ${set.unresolved.join(", ")}\n`);
      }
      return set.unresolved.length === 0 ? 0 : 1;
    }
    const target = stringOption(ctx.values.target);
    const imager = stringOption(ctx.values.imager);
    const platform = stringOption(ctx.values.platform);
    const composed = await composeInstaller({
      entries: set.entries,
      version,
      ...(arches.length ? { arches } : {}),
      ...(platform ? { platform } : {}),
      ...(route === "factory" ? { factory: factoryClient(ctx) } : {}),
      ...(target ? { target } : {}),
      ...(imager ? { imagerBinary: imager } : {}),
      ...(kernelArgs.length ? { extraKernelArgs: kernelArgs } : {}),
      workDir: resolve(ctx.io.cwd, "_out"),
      insecure: registry.insecure === true,
      registry,
    });
    if (ctx.json) printJson(ctx.io, { ok: true, ...composed, diff: set.diff });
    else {
      printDiff(ctx.io, set.diff);
      ctx.io.stdout(`${composed.ref}\n`);
    }
    return 0;
  },
};
