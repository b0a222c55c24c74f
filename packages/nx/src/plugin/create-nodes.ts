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
import type { TreePackage } from "./tree-packages.ts";

/** Every project gets `talos-ext`, plus its kind. */
export const TAGS = { all: "talos-ext", extension: "talos-ext:extension", stage: "talos-ext:stage" } as const;

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

async function createNodesInternal(
  files: readonly string[],
  options: TalosExtPluginOptions | undefined,
  context: CreateNodesContextV2,
) {
  const o = normalizeOptions(options);
  const roots = [...new Set(files.map((f) => rootOf(f, o.roots)).filter((r) => r !== undefined))].sort();
  const summaries = await summarizeRoots(context, roots, o);
  const byFile = new Map<string, { pkg: TreePackage; root: string }>();
  for (const s of summaries) for (const pkg of s.packages) byFile.set(pkg.file, { pkg, root: s.root });
  return createNodesFromFiles(
    (file) => {
      const hit = byFile.get(posix.normalize(file));
      if (!hit) return {} satisfies CreateNodesResult;
      return { projects: { [hit.pkg.root]: projectFor(hit.pkg, hit.root, o) } } satisfies CreateNodesResult;
    },
    files,
    options,
    context,
  );
}

/** Nx's entry: every `pkg.yaml`; those outside the configured roots are ignored. */
export const createNodesV2: CreateNodesV2<TalosExtPluginOptions> = ["**/pkg.yaml", createNodesInternal];
