import type { Diagnostic } from "../errors.ts";
import type { LoadedPackage } from "../loader/index.ts";
import type { Dependency } from "../schema/index.ts";

export interface ResolvedDependency {
  /** The dependency as written (from/to kept optional, as in the file). */
  dep: Dependency;
  /** The resolved package for a `stage:` dependency; absent for images and unresolvable stages. */
  node?: GraphNode;
  /** In a merge list: the package that declared this runtime dependency. */
  viaRuntimeOf?: string;
}

export interface GraphNode {
  name: string;
  pkg: LoadedPackage;
  /** Every declared dependency, in file order. */
  dependencies: ResolvedDependency[];
}

export interface ResolvedGraph {
  target: string;
  /** Every package reachable from `target` through `stage:` dependencies (target included). */
  nodes: Map<string, GraphNode>;
  /** Topological: dependencies first, target last; deterministic (depth-first post-order in file order). */
  order: string[];
  /** Resolution problems in the order a depth-first walk meets them (the first is bldr's error). */
  diagnostics: Diagnostic[];
}

/** One entry of a package's dependency merge list (bldr §6.2 steps 1–2). */
export interface MergeEntry extends ResolvedDependency {
  /** bldr's de-duplication key: `<image>-<stage>-<to as written>`. */
  id: string;
}
