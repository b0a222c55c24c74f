/**
 * The package graph as JSON, for tools: the same packages `toDot` draws (GRAPH_IGNORE honoured),
 * with one edge per dependency entry from the dependency to its dependent.
 */
import { compareBytes, type LoadedTree } from "../loader/index.ts";
import { withoutGraphIgnored } from "./dot.ts";
import { resolveGraph, throwIfUnresolved } from "./resolve.ts";

/** The package graph as JSON: packages as nodes and one edge per dependency entry. */
export interface GraphJson {
  /** The target the graph was limited to, when one was given. */
  target?: string;
  /** Every package shown (GRAPH_IGNORE honoured): its pkg.yaml, variant and the images it depends on. */
  nodes: {
    /** The package's name, the value edges refer to. */
    name: string;
    /** Its pkg.yaml, relative to the tree root (posix). */
    file: string;
    /** The pkg.yaml `variant` (`alpine` or `scratch`): what the package's build starts from. */
    variant: string;
    /** Images (not packages of the tree) its dependencies name, in file order. */
    images: string[];
  }[];
  /**
   * One edge per dependency entry, from the dependency (package or image) to the package that declares it.
   */
  edges: {
    /** The dependency: a package name, or an image reference when `kind` is `image`. */
    from: string;
    /** The package whose pkg.yaml declares the dependency. */
    to: string;
    /** Whether the dependency is a stage of the tree or an external image. */
    kind: "stage" | "image";
    /** A runtime dependency (pkg.yaml `runtime: true`): packages that depend on `to` pull it in too. */
    runtime: boolean;
  }[];
}

/**
 * The package graph as JSON, optionally limited to `target`'s closure. Throws `GRAPH_*` codes when that
 * target does not resolve.
 */
export function toGraphJson(
  tree: LoadedTree,
  options: {
    /** Show only this package and what it reaches through `stage:` dependencies (default: every package). */
    target?: string;
  } = {},
): GraphJson {
  const shown = withoutGraphIgnored(tree);
  let names = [...shown.packages.keys()].sort(compareBytes);
  if (options.target !== undefined) {
    const graph = resolveGraph(shown, options.target);
    throwIfUnresolved(graph);
    names = graph.order;
  }
  const nodes: GraphJson["nodes"] = [];
  const edges: GraphJson["edges"] = [];
  for (const name of names) {
    const p = shown.packages.get(name)!;
    const images: string[] = [];
    for (const d of p.pkg.dependencies) {
      if (d.image !== undefined) {
        images.push(d.image);
        edges.push({ from: d.image, to: name, kind: "image", runtime: d.runtime });
      } else if (d.stage !== undefined) {
        edges.push({ from: d.stage, to: name, kind: "stage", runtime: d.runtime });
      }
    }
    nodes.push({ name, file: p.file, variant: p.pkg.variant, images });
  }
  return { ...(options.target !== undefined ? { target: options.target } : {}), nodes, edges };
}
