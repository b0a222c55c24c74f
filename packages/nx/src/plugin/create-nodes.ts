/**
 * `createNodesV2`: one Nx project per `pkg.yaml` under the configured tree roots, named after the
 * package's `name:` and tagged by kind. A pkg.yaml that does not load is left out (no project):
 * `talos-ext lint` reports why, and one broken file must not stop every other Nx command.
 */
import { posix } from "node:path";
import {
  type CreateNodesContextV2,
  type CreateNodesResult,
  type CreateNodesV2,
  createNodesFromFiles,
  type ProjectConfiguration,
} from "@nx/devkit";
import { summarizeRoots } from "./cache.ts";
import { type NormalizedOptions, normalizeOptions, type TalosExtPluginOptions } from "./options.ts";
import { PACKAGE_INPUT, packageNamedInput, targetsFor } from "./targets.ts";
import type { TreePackage, UnloadedPackage } from "./tree-packages.ts";

/** Every project gets `talos-ext`, plus its kind. */
export const TAGS = {
  all: "talos-ext",
  extension: "talos-ext:extension",
  stage: "talos-ext:stage",
  unloaded: "talos-ext:unloaded",
} as const;

/** The configured root that holds `file` (the deepest one), if any. */
export function rootOf(file: string, roots: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const r of roots) {
    const inside = r === "." || file.startsWith(`${r}/`);
    if (inside && (best === undefined || r.length > best.length)) best = r;
  }
  return best;
}

function projectFor(pkg: TreePackage, treeRoot: string, o: NormalizedOptions): ProjectConfiguration {
  return {
    root: pkg.root,
    name: pkg.name,
    projectType: pkg.kind === "extension" ? "application" : "library",
    tags: [TAGS.all, pkg.kind === "extension" ? TAGS.extension : TAGS.stage],
    namedInputs: { [PACKAGE_INPUT]: packageNamedInput(pkg) },
    targets: targetsFor(pkg, treeRoot, o),
    metadata: {
      description:
        pkg.kind === "extension"
          ? `Talos system extension ${pkg.name}${pkg.version ? ` ${pkg.version}` : ""} (bldr package ${pkg.file})`
          : `Internal build stage ${pkg.name} (bldr package ${pkg.file}); built as part of the extensions that use it`,
      technologies: ["talos-ext"],
    },
  };
}

/** A package that did not load: lint only, so Nx can say what is wrong with it. */
function unloadedProject(u: UnloadedPackage, treeRoot: string, o: NormalizedOptions): ProjectConfiguration {
  const pkg: TreePackage = {
    name: u.name,
    root: u.root,
    file: u.file,
    kind: "stage",
    sharedInputs: [],
    stageDependencies: [],
    imageDependencies: [],
  };
  const { lint } = targetsFor(pkg, treeRoot, o);
  // Its own directory plus the whole tree: the cause may be any vars.yaml above it.
  const input = ["{projectRoot}/**/*", `{workspaceRoot}/${treeRoot}/**/*`];
  return {
    root: u.root,
    name: u.name,
    tags: [TAGS.all, TAGS.unloaded],
    namedInputs: { [PACKAGE_INPUT]: input },
    targets: { lint: lint! },
    metadata: {
      description: `bldr package ${u.file} does not load; nx run ${u.name}:lint (or talos-ext lint) says why`,
      technologies: ["talos-ext"],
    },
  };
}

async function createNodesInternal(
  files: readonly string[],
  options: TalosExtPluginOptions | undefined,
  context: CreateNodesContextV2,
) {
  const o = normalizeOptions(options);
  const roots = [...new Set(files.map((f) => rootOf(f, o.roots)).filter((r) => r !== undefined))].sort();
  const summaries = await summarizeRoots(context, roots, o);
  const byFile = new Map<string, ProjectConfiguration>();
  for (const s of summaries) {
    for (const pkg of s.packages) byFile.set(pkg.file, projectFor(pkg, s.root, o));
    for (const u of s.unloaded ?? []) byFile.set(u.file, unloadedProject(u, s.root, o));
  }
  return createNodesFromFiles(
    (file) => {
      const project = byFile.get(posix.normalize(file));
      if (!project) return {} satisfies CreateNodesResult;
      return { projects: { [project.root]: project } } satisfies CreateNodesResult;
    },
    files,
    options,
    context,
  );
}

/** Nx's entry: every `pkg.yaml`; those outside the configured roots are ignored. */
export const createNodesV2: CreateNodesV2<TalosExtPluginOptions> = ["**/pkg.yaml", createNodesInternal];
