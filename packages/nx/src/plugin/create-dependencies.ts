/**
 * `createDependencies`: a package's `stage:` dependencies, and its `image:` dependencies on images
 * this tree publishes (`<registry>/<name>`), become static project-graph edges, so
 * `nx affected` follows exactly what a build would pull in.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type CreateDependencies, DependencyType, type RawProjectGraphDependency } from "@nx/devkit";
import { summarizeRoots } from "./cache.ts";
import { normalizeOptions, type TalosExtPluginOptions } from "./options.ts";
import type { TreeSummary } from "./tree-packages.ts";

/** `registry.example/talos/foo:1.0` or `…/foo@sha256:…` -> `foo` when under `registry`. */
export function publishedName(image: string, registry: string | undefined): string | undefined {
  if (!registry || !image.startsWith(`${registry}/`)) return undefined;
  const rest = image.slice(registry.length + 1);
  const name = rest.split("@")[0]!.split(":")[0]!;
  return name && !name.includes("/") ? name : undefined;
}

/** The edges of the given trees; pure, so tests can call it on a summary. */
export function dependenciesOf(
  summaries: TreeSummary[],
  registry: string | undefined,
): RawProjectGraphDependency[] {
  const out: RawProjectGraphDependency[] = [];
  for (const s of summaries) {
    const names = new Set(s.packages.map((p) => p.name));
    for (const p of s.packages) {
      const targets = new Set(p.stageDependencies);
      for (const image of p.imageDependencies) {
        const name = publishedName(image, registry);
        if (name && names.has(name)) targets.add(name);
      }
      targets.delete(p.name);
      for (const target of [...targets].sort()) {
        out.push({ source: p.name, target, type: DependencyType.static, sourceFile: p.file });
      }
    }
  }
  return out;
}

/**
 * The plugin's `createDependencies`: the edges of {@link dependenciesOf} for every configured
 * root that exists, limited to projects Nx knows.
 */
export const createDependencies: CreateDependencies<TalosExtPluginOptions> = async (options, context) => {
  const o = normalizeOptions(options);
  const roots = o.roots.filter((r) => existsSync(join(context.workspaceRoot, r)));
  const summaries = await summarizeRoots(context, roots, o);
  // Only packages Nx knows as projects (createNodes may have skipped one) can have edges.
  return dependenciesOf(summaries, o.registry).filter(
    (d) => context.projects[d.source] && context.projects[d.target],
  );
};
