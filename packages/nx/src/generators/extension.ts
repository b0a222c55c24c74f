/**
 * `nx g @talos-ext/nx:extension <name>`: writes the package from @talos-ext/spec's scaffold (the
 * one template, shared with `talos-ext new`) into Nx's tree; with a source URL, the callback runs
 * `talos-ext update VERSION` once the files are on disk, so the checksums are real.
 */
import { readFileSync } from "node:fs";
import { createRequire, registerHooks } from "node:module";
import { dirname, join, posix } from "node:path";
import { formatFiles, type GeneratorCallback, logger, readNxJson, type Tree } from "@nx/devkit";
import type { ScaffoldBuilder } from "@talos-ext/spec";
import { execa, parseCommandString } from "execa";
import { normalizeOptions, type TalosExtPluginOptions } from "../plugin/options.ts";

/** The generator's options (schemas/extension-generator.json). */
export interface ExtensionGeneratorOptions {
  /** Package and extension name. */
  name: string;
  /** Tree root, relative to the workspace root; default the plugin's first root. */
  root?: string;
  /** Package directory, relative to the tree root; default the name. */
  directory?: string;
  /** Add an extension service built from src/. */
  service?: boolean;
  /** Upstream source archive. */
  sourceUrl?: string;
  /** VERSION in vars.yaml (`--packageVersion`: Nx keeps `--version` for itself). */
  packageVersion?: string;
  /** Files only, no build steps. */
  noBuild?: boolean;
  /** `stage:NAME` or `image:REF`. */
  builder?: string;
  /** One line for the manifest. */
  description?: string;
  /** Leave the placeholder checksums (no download). */
  skipUpdate?: boolean;
}

let sourceConditionAdded = false;

/**
 * @talos-ext/spec, loaded the way this module was: Nx runs a workspace generator from its `.ts`
 * source (before anything is built) without the `development` export condition it gives plugins,
 * so from source we add it ourselves; published, this module is `.js` and spec comes from `dist`.
 */
async function loadSpec(): Promise<typeof import("@talos-ext/spec")> {
  if (import.meta.url.endsWith(".ts") && !sourceConditionAdded) {
    sourceConditionAdded = true;
    registerHooks({
      resolve: (specifier, context, next) =>
        next(specifier, { ...context, conditions: [...(context.conditions ?? []), "development"] }),
    });
  }
  return import("@talos-ext/spec");
}

/** The talos-ext plugin's options from nx.json, whichever way it is registered. */
function pluginOptions(tree: Tree): TalosExtPluginOptions | undefined {
  for (const p of readNxJson(tree)?.plugins ?? []) {
    const spec = typeof p === "string" ? p : p.plugin;
    if (spec === "@talos-ext/nx" || spec.includes("packages/nx/")) {
      return typeof p === "string" ? {} : (p.options as TalosExtPluginOptions | undefined);
    }
  }
  return undefined;
}

function parseBuilder(
  value: string | undefined,
  TalosExtError: typeof import("@talos-ext/spec").TalosExtError,
): ScaffoldBuilder | undefined {
  if (value === undefined) return undefined;
  const m = /^(stage|image):(.+)$/.exec(value);
  if (m?.[1] === "stage") return { stage: m[2]! };
  if (m?.[1] === "image") return { image: m[2]! };
  throw new TalosExtError({
    code: "SCAFFOLD_BAD_BUILDER",
    message: `builder "${value}" is neither stage:NAME nor image:REF`,
    hint: "e.g. --builder=stage:base or --builder='image:{{ .TOOLCHAIN_IMAGE }}'",
  });
}

/** The generator: returns a callback that fills the checksums when a source is given. */
export default async function extensionGenerator(
  tree: Tree,
  options: ExtensionGeneratorOptions,
): Promise<GeneratorCallback | undefined> {
  const { scaffoldExtension, TalosExtError } = await loadSpec();
  const plugin = normalizeOptions(pluginOptions(tree));
  const treeRoot = options.root ?? plugin.roots[0] ?? "extensions";
  const builder = parseBuilder(options.builder, TalosExtError);
  const scaffold = scaffoldExtension({
    name: options.name,
    ...(options.packageVersion !== undefined ? { version: options.packageVersion } : {}),
    ...(options.sourceUrl !== undefined ? { sourceUrl: options.sourceUrl } : {}),
    ...(builder ? { builder } : {}),
    ...(options.description !== undefined ? { description: options.description } : {}),
    service: options.service === true,
    noBuild: options.noBuild === true,
  });
  if (!tree.exists(posix.join(treeRoot, "Pkgfile"))) {
    throw new TalosExtError({
      code: "SCAFFOLD_NO_TREE",
      message: `"${treeRoot}" has no Pkgfile, so it is not a bldr tree`,
      hint: "pass --root with the directory that holds the Pkgfile (or set the plugin's roots in nx.json)",
    });
  }
  const dir = posix.join(treeRoot, options.directory ?? options.name);
  if (tree.exists(dir)) {
    throw new TalosExtError({
      code: "SCAFFOLD_DIR_EXISTS",
      message: `"${dir}" already exists`,
      hint: "pick another --directory or name; the generator never overwrites files",
    });
  }
  for (const f of scaffold.files) tree.write(posix.join(dir, f.path), f.content, { mode: f.mode ?? 0o644 });
  await formatFiles(tree);
  if (!scaffold.updateVariable || options.skipUpdate) return undefined;
  const variable = scaffold.updateVariable;
  const relFile = posix.join(options.directory ?? options.name, "vars.yaml");
  return async () => {
    // A workspace that builds the CLI itself (a fresh clone) may not have built it yet.
    if (plugin.cliProject) {
      const nxPackage = createRequire(import.meta.url).resolve("nx/package.json");
      const bin = JSON.parse(readFileSync(nxPackage, "utf8")).bin.nx as string;
      await execa(process.execPath, [join(dirname(nxPackage), bin), "run", `${plugin.cliProject}:build`], {
        cwd: tree.root,
        stdio: "inherit",
      });
    }
    const [file, ...args] = parseCommandString(plugin.cli);
    const command = [...args, "update", variable, "--root", treeRoot, "--file", relFile];
    logger.info(
      `talos-ext: filling the source checksums: ${plugin.cli} ${command.slice(args.length).join(" ")}`,
    );
    await execa(file!, command, { cwd: tree.root, stdio: "inherit" });
  };
}
