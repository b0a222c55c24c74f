export { type DotOptions, goQuote, toDot, withoutGraphIgnored } from "./dot.ts";
export { type Dump, type DumpedPackage, type DumpOptions, toDump } from "./dump.ts";
export { dependencyId, mergeList, runtimeDependencies } from "./merge.ts";
export { resolveAll, resolveGraph, subgraph, throwIfUnresolved } from "./resolve.ts";
export type { GraphNode, MergeEntry, ResolvedDependency, ResolvedGraph } from "./types.ts";
