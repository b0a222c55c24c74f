/**
 * `bldr graph` output: the DOT text that bldr's `PackageSet.DumpDot` produces through the
 * emicklei/dot writer. Byte-for-byte details of that writer are kept: `digraph  {` (empty graph id),
 * one TAB of indentation, an empty indented line where the (absent) graph attributes go and one
 * before `}`, node statements sorted by node id, edges grouped by source id in creation order,
 * attributes sorted by key and values quoted as Go's `%q` does.
 */

import { goQuote } from "../go-quote.ts";
import { compareBytes, type LoadedPackage, type LoadedTree } from "../loader/index.ts";
import type { Dependency } from "../schema/index.ts";
import { resolveGraph, throwIfUnresolved } from "./resolve.ts";

/** Options of {@link toDot}. */
export interface DotOptions {
  /** Graph only this package and what it depends on (`bldr graph --target`). */
  target?: string;
}

interface DotNode {
  seq: number;
  attrs: Map<string, string>;
}

interface DotEdge {
  from: DotNode;
  to: DotNode;
  attrs: Map<string, string>;
}

/** The subset of emicklei/dot's Graph that bldr uses. */
class DotWriter {
  private seq = 0;
  private readonly nodes = new Map<string, DotNode>();
  private readonly edgesFrom = new Map<string, DotEdge[]>();

  node(id: string): DotNode {
    let n = this.nodes.get(id);
    if (!n) {
      n = { seq: ++this.seq, attrs: new Map([["label", id]]) };
      this.nodes.set(id, n);
    }
    return n;
  }

  edge(fromId: string, to: DotNode, attrs: Record<string, string> = {}): void {
    const from = this.node(fromId);
    const list = this.edgesFrom.get(fromId) ?? [];
    list.push({ from, to, attrs: new Map(Object.entries(attrs)) });
    this.edgesFrom.set(fromId, list);
  }

  toString(): string {
    const lines: string[] = [""];
    for (const id of [...this.nodes.keys()].sort(compareBytes)) {
      const n = this.nodes.get(id)!;
      lines.push(`n${n.seq}${attrList(n.attrs)};`);
    }
    for (const id of [...this.edgesFrom.keys()].sort(compareBytes)) {
      for (const e of this.edgesFrom.get(id)!)
        lines.push(`n${e.from.seq}->n${e.to.seq}${attrList(e.attrs)};`);
    }
    lines.push("");
    return `digraph  {\n${lines.map((l) => `\t${l}`).join("\n")}\n}\n`;
  }
}

function attrList(attrs: Map<string, string>): string {
  if (attrs.size === 0) return "";
  const keys = [...attrs.keys()].sort(compareBytes);
  return `[${keys.map((k) => `${k}=${goQuote(attrs.get(k)!)}`).join(",")}]`;
}

function box(g: DotWriter, id: string, fillcolor: string): DotNode {
  const n = g.node(id);
  n.attrs.set("shape", "box");
  n.attrs.set("fillcolor", fillcolor);
  n.attrs.set("style", "filled");
  return n;
}

/** bldr `PackageNode.DumpDot`: edges point from a dependency to its dependent. */
function dumpNode(g: DotWriter, name: string, pkg: LoadedPackage): void {
  const n = g.node(name);
  pkg.pkg.dependencies.forEach((dep: Dependency) => {
    let from: string;
    if (dep.stage) {
      from = dep.stage;
      g.node(from);
    } else {
      from = (dep.image ?? "").split("@")[0]!;
      box(g, from, "lemonchiffon");
    }
    g.edge(from, n, dep.runtime ? { style: "bold", color: "forestgreen" } : {});
  });
  if (pkg.pkg.variant === "alpine") {
    box(g, "alpine", "aquamarine");
    g.edge("alpine", n);
  }
  for (const p of pkg.pkg.install) {
    box(g, `Alpine: ${p}`, "aquamarine");
    g.edge(`Alpine: ${p}`, n);
  }
}

/** Packages whose variables set `GRAPH_IGNORE: "true"` are left out, as `bldr graph` does. */
export function withoutGraphIgnored(tree: LoadedTree): LoadedTree {
  const packages = new Map([...tree.packages].filter(([, p]) => p.context.GRAPH_IGNORE !== "true"));
  return { ...tree, packages };
}

/**
 * Without a target every package is drawn; bldr walks a Go map there, so its numbering changes
 * from run to run; ours takes packages in name order. With a target, packages come in bldr's
 * order: the target, then its dependencies depth-first in file order. Throws `TalosExtError`
 * (the first resolution problem) when the target's graph does not resolve, as bldr exits.
 */
export function toDot(tree: LoadedTree, options: DotOptions = {}): string {
  const shown = withoutGraphIgnored(tree);
  const set: [string, LoadedPackage][] = [];
  if (options.target === undefined) {
    for (const name of [...shown.packages.keys()].sort(compareBytes))
      set.push([name, shown.packages.get(name)!]);
  } else {
    const graph = resolveGraph(shown, options.target);
    throwIfUnresolved(graph);
    const seen = new Set<string>();
    const flatten = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      const node = graph.nodes.get(name)!;
      set.push([name, node.pkg]);
      for (const d of node.dependencies) if (d.node) flatten(d.node.name);
    };
    flatten(options.target);
  }
  const g = new DotWriter();
  for (const [name, pkg] of set) dumpNode(g, name, pkg);
  return g.toString();
}

export { goQuote };
