/**
 * The dependency merge list of one package, exactly as bldr builds it before the MergeOp
 * (`NodeLLB.dependencies`): each declared dependency, then right after it the transitive runtime
 * dependencies of its package (depth-first, from/to as written where they were declared), then
 * de-duplicated by `<image>-<stage>-<raw to>`, keeping the first.
 */
import { TalosExtError } from "../errors.ts";
import type { Dependency } from "../schema/index.ts";
import type { GraphNode, MergeEntry, ResolvedDependency, ResolvedGraph } from "./types.ts";

/** bldr's `PackageDependency.ID`: `from` and `platform` are not part of it, `to` is used as written. */
export function dependencyId(dep: Dependency): string {
  return `${dep.image ?? ""}-${dep.stage ?? ""}-${dep.to ?? ""}`;
}

/** `node`'s runtime dependencies, recursively (bldr `PackageNode.RuntimeDependencies`). */
export function runtimeDependencies(
  node: GraphNode,
  seen: ReadonlySet<string> = new Set(),
): ResolvedDependency[] {
  const out: ResolvedDependency[] = [];
  const inside = new Set(seen).add(node.name);
  for (const d of node.dependencies) {
    if (!d.dep.runtime) continue;
    out.push(withNode({ dep: d.dep, viaRuntimeOf: node.name }, d.node));
    // A cycle cannot survive resolution; the guard only keeps a broken graph from looping.
    if (d.node && !inside.has(d.node.name)) out.push(...runtimeDependencies(d.node, inside));
  }
  return out;
}

/**
 * The merge list of `pkgName` in `graph`, as bldr builds it. Throws `GRAPH_TARGET_UNKNOWN` when the package
 * is not in the graph.
 */
export function mergeList(graph: ResolvedGraph, pkgName: string): MergeEntry[] {
  const node = graph.nodes.get(pkgName);
  if (!node) {
    throw new TalosExtError({
      code: "GRAPH_TARGET_UNKNOWN",
      message: `package "${pkgName}" is not part of the graph of "${graph.target}"`,
      hint: "resolve a graph whose target reaches this package first",
    });
  }
  const expanded: ResolvedDependency[] = [];
  for (const d of node.dependencies) {
    expanded.push(withNode({ dep: d.dep }, d.node));
    if (d.node) expanded.push(...runtimeDependencies(d.node, new Set([node.name])));
  }
  const seen = new Set<string>();
  const out: MergeEntry[] = [];
  for (const d of expanded) {
    const id = dependencyId(d.dep);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ ...d, id });
  }
  return out;
}

function withNode(d: ResolvedDependency, node: GraphNode | undefined): ResolvedDependency {
  if (node) d.node = node;
  return d;
}
