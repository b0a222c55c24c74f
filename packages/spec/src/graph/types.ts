import type { Diagnostic } from "../errors.ts";
import type { LoadedPackage } from "../loader/index.ts";
import type { Dependency } from "../schema/index.ts";

/** One declared dependency of a graph node, with the package it resolved to. */
export interface ResolvedDependency {
  /** The dependency as written (from/to kept optional, as in the file). */
  dep: Dependency;
  /** The resolved package for a `stage:` dependency; absent for images and unresolvable stages. */
  node?: GraphNode;
  /** In a merge list: the package that declared this runtime dependency. */
  viaRuntimeOf?: string;
}

/** A package in a resolved graph, with its dependencies resolved to nodes where they are stages. */
export interface GraphNode {
  /** The package's `name`. */
  name: string;
  /** The loaded package. */
  pkg: LoadedPackage;
  /** Every declared dependency, in file order. */
  dependencies: ResolvedDependency[];
}

/** The packages a target reaches through `stage:` dependencies, resolved and ordered. */
export interface ResolvedGraph {
  /** The package the graph was resolved for. */
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
