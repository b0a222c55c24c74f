import { resolve } from "node:path";
import { type ConfigFile, findConfigFile, loadConfig } from "@talos-ext/config";
import {
  hasErrors,
  type LoadedTree,
  loadTree,
  PLATFORMS,
  type Platform,
  resolveGraph,
  TalosExtError,
} from "@talos-ext/spec";
import {
  type CommandContext,
  keyValueOption,
  listOption,
  type OptionSpec,
  stringOption,
  usageError,
} from "../command.ts";

export const ROOT_OPTION: Record<string, OptionSpec> = {
  root: {
    type: "string",
    value: "DIR",
    description: "root of the bldr tree (the directory with the Pkgfile); default: .",
  },
};
export const BUILD_ARG_OPTION: Record<string, OptionSpec> = {
  "build-arg": {
    type: "string",
    multiple: true,
    value: "K=V",
    description: "build argument, visible to templates as .BUILD_ARG_K",
  },
};

export const CONFIG_OPTION: Record<string, OptionSpec> = {
  config: {
    type: "string",
    value: "FILE",
    description: "workspace file (default: talos-ext.yaml in . or a parent); flags override it",
  },
};

/**
 * The workspace configuration when there is one: `--config FILE`, else `talos-ext.yaml` found
 * upward from the working directory, else none (commands then run on flags and defaults alone).
 * Environment overrides apply; a broken file stops the command with every finding.
 */
export async function workspaceConfig(ctx: CommandContext): Promise<ConfigFile | undefined> {
  const explicit = stringOption(ctx.values.config);
  const file = explicit ? resolve(ctx.io.cwd, explicit) : await findConfigFile(ctx.io.cwd);
  if (!file) return undefined;
  return (await loadConfig({ cwd: ctx.io.cwd, file, env: ctx.io.env })).config;
}

/** The tree's root: `--root`, else the workspace's `tree.root`, else the working directory. */
export function rootDir(ctx: CommandContext, config?: ConfigFile): string {
  const flag = stringOption(ctx.values.root);
  if (flag) return resolve(ctx.io.cwd, flag);
  return config?.tree?.root ?? resolve(ctx.io.cwd, ".");
}

/** Checks platform names up front so a typo is a usage error, not a load failure. */
export function platformsOption(ctx: CommandContext, fallback: readonly Platform[]): Platform[] {
  const asked = listOption(ctx.values.platform);
  if (asked.length === 0) return [...fallback];
  for (const p of asked) {
    if (!(PLATFORMS as readonly string[]).includes(p)) {
      throw usageError(`platform "${p}" is not defined`, `supported platforms: ${PLATFORMS.join(", ")}`);
    }
  }
  return [...new Set(asked)] as Platform[];
}

export function singlePlatform(ctx: CommandContext): Platform {
  const list = platformsOption(ctx, ["linux/amd64"]);
  if (list.length > 1) throw usageError("this command takes one --platform");
  return list[0]!;
}

/**
 * Loads the tree the way `bldr graph|dump` do (CLI mode: dot-dirs skipped, _out/ kept) and, with
 * --target, resolves it; any error stops the command with every finding attached.
 */
export async function loadForTarget(
  ctx: CommandContext,
  failure: { code: string; message: string },
): Promise<{ tree: LoadedTree; target: string | undefined }> {
  const tree = await loadTree({
    mode: "cli",
    root: rootDir(ctx),
    platform: singlePlatform(ctx),
    buildArgs: keyValueOption(ctx.values["build-arg"], "build-arg"),
  });
  const target = stringOption(ctx.values.target);
  const problems = [...tree.diagnostics];
  if (target) problems.push(...resolveGraph(tree, target).diagnostics);
  if (hasErrors(problems)) {
    throw new TalosExtError({
      ...failure,
      hint: "fix the errors listed (talos-ext lint shows them all)",
      diagnostics: problems,
    });
  }
  return { tree, target };
}
