/**
 * Dependency resolution as bldr's `Packages.resolve`: depth-first from a target over `stage:`
 * entries, nodes shared by name. Errors carry bldr's message, wrapped once per hop
 * (`error resolving dependency "<dep>" of "<pkg>": …`), and point at the offending `stage:` value.
 * Unlike bldr, resolution carries on after an error so every problem is reported once.
 */
import { type Diagnostic, diagnostic, didYouMean, TalosExtError } from "../errors.ts";
import { compareBytes, type LoadedPackage, type LoadedTree } from "../loader/index.ts";
import type { GraphNode, ResolvedGraph } from "./types.ts";

type Hop = readonly [dep: string, of: string];

class Resolver {
  readonly nodes = new Map<string, GraphNode>();
  readonly order: string[] = [];
  readonly diagnostics: Diagnostic[] = [];
  private readonly visiting = new Set<string>();

  private readonly packages: ReadonlyMap<string, LoadedPackage>;

  // Plain fields, not parameter properties: spec loads under Node's type stripping (the Nx plugin).
  constructor(packages: ReadonlyMap<string, LoadedPackage>) {
    this.packages = packages;
  }

  /** Resolves `name` (known to exist) and everything it reaches. */
  visit(name: string, path: readonly string[], hops: readonly Hop[]): GraphNode {
    const done = this.nodes.get(name);
    if (done) return done;
    const pkg = this.packages.get(name)!;
    const node: GraphNode = { name, pkg, dependencies: [] };
    this.visiting.add(name);
    const here = [...path, name];
    pkg.pkg.dependencies.forEach((dep, i) => {
      const stage = dep.stage;
      if (!stage) {
        node.dependencies.push({ dep });
        return;
      }
      const cached = this.nodes.get(stage);
      if (cached && !this.visiting.has(stage)) {
        node.dependencies.push({ dep, node: cached });
        return;
      }
      const chain: Hop[] = [...hops, [stage, name]];
      if (!this.packages.has(stage)) {
        const guess = didYouMean(stage, this.packages.keys());
        this.report(
          "GRAPH_UNKNOWN_STAGE",
          chain,
          `package "${stage}" not defined`,
          guess
            ? `did you mean "${guess}"? a stage: names another package's name:`
            : "a stage: must name another package's name: in this tree (use image: for images)",
          pkg,
          i,
        );
        node.dependencies.push({ dep });
        return;
      }
      if (this.visiting.has(stage)) {
        this.report(
          "GRAPH_CYCLE",
          chain,
          `circular dependency detected [${here.join(" ")}] -> "${stage}"`,
          "packages may not depend on themselves, directly or through others; remove one dependency of the cycle",
          pkg,
          i,
        );
        node.dependencies.push({ dep });
        return;
      }
      node.dependencies.push({ dep, node: this.visit(stage, here, chain) });
    });
    this.visiting.delete(name);
    this.nodes.set(name, node);
    this.order.push(name);
    return node;
  }

  private report(
    code: string,
    chain: Hop[],
    inner: string,
    hint: string,
    pkg: LoadedPackage,
    i: number,
  ): void {
    const message = chain.reduceRight(
      (acc, [dep, of]) => `error resolving dependency "${dep}" of "${of}": ${acc}`,
      inner,
    );
    this.diagnostics.push(
      diagnostic(code, "error", message, { hint, location: pkg.doc.locate(["dependencies", i, "stage"]) }),
    );
  }
}

/** Resolves `target` and only what it reaches: problems elsewhere in the tree are not looked at. */
export function resolveGraph(tree: LoadedTree, target: string): ResolvedGraph {
  const resolver = new Resolver(tree.packages);
  if (!tree.packages.has(target)) {
    const guess = didYouMean(target, tree.packages.keys());
    return {
      target,
      nodes: new Map(),
      order: [],
      diagnostics: [
        diagnostic("GRAPH_TARGET_UNKNOWN", "error", `package "${target}" not defined`, {
          hint: guess ? `did you mean "${guess}"?` : "the target must be the name: of a package in the tree",
        }),
      ],
    };
  }
  resolver.visit(target, [], []);
  return { target, nodes: resolver.nodes, order: resolver.order, diagnostics: resolver.diagnostics };
}

/** Resolves every package (in name order), so cycles and dangling stages anywhere are found. */
export function resolveAll(tree: LoadedTree): {
  /** Every package resolved, dependencies first (depth-first post-order, roots taken in name order). */
  order: string[];
  /** Resolution problems anywhere in the tree (cycles, unknown stages), in the order the walk meets them. */
  diagnostics: Diagnostic[];
} {
  const resolver = new Resolver(tree.packages);
  for (const name of [...tree.packages.keys()].sort(compareBytes)) resolver.visit(name, [], []);
  return { order: resolver.order, diagnostics: resolver.diagnostics };
}

/** The part of `graph` reachable from `name`, ordered as `resolveGraph(tree, name)` would order it. */
export function subgraph(graph: ResolvedGraph, name: string): ResolvedGraph {
  const root = graph.nodes.get(name);
  if (!root) {
    return {
      target: name,
      nodes: new Map(),
      order: [],
      diagnostics: [
        diagnostic(
          "GRAPH_TARGET_UNKNOWN",
          "error",
          `package "${name}" is not part of the graph of "${graph.target}"`,
          {
            hint: "pick a package that the graph's target depends on",
          },
        ),
      ],
    };
  }
  const nodes = new Map<string, GraphNode>();
  const order: string[] = [];
  const walk = (node: GraphNode) => {
    if (nodes.has(node.name)) return;
    nodes.set(node.name, node);
    for (const d of node.dependencies) if (d.node) walk(d.node);
    order.push(node.name);
  };
  walk(root);
  const files = new Set([...nodes.values()].map((n) => n.pkg.file));
  const diagnostics = graph.diagnostics.filter((d) => d.file !== undefined && files.has(d.file));
  return { target: name, nodes, order, diagnostics };
}

/** For commands that, like bldr, cannot go on without a resolved graph: throws its first problem. */
export function throwIfUnresolved(graph: ResolvedGraph): void {
  const first = graph.diagnostics[0];
  if (!first) return;
  throw new TalosExtError({
    code: first.code,
    message: first.message,
    hint: first.hint,
    location: first.file ? { file: first.file, line: first.line, column: first.column } : undefined,
    diagnostics: graph.diagnostics,
  });
}
