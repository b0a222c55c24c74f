/**
 * A readable JSON view of a loaded tree, in the spirit of `bldr dump` (packages sorted by name,
 * their decoded fields, variables and rendered templated files) but with our own field names and
 * plain strings instead of Go's integer enums and base64.
 */
import { compareBytes, type LoadedPackage, type LoadedTree } from "../loader/index.ts";
import type { Pkg, Platform } from "../schema/index.ts";
import { resolveGraph, throwIfUnresolved } from "./resolve.ts";

/** Options of {@link toDump}. */
export interface DumpOptions {
  /** Only the target and what it depends on; each package then lists its resolved dependencies. */
  target?: string;
}

/** One package of a {@link Dump}: its decoded pkg.yaml and what it was rendered with. */
export interface DumpedPackage {
  /** The package's `name`. */
  name: string;
  /** Package directory relative to the tree root (posix); `""` for the root. */
  dir: string;
  /** The pkg.yaml, relative to the tree root (posix). */
  file: string;
  /** The decoded pkg.yaml, after template rendering. */
  pkg: Pkg;
  /** Variables (sorted by name) the package was rendered with. */
  context: Record<string, string>;
  /** Rendered `*.tmpl` files of the package: path relative to the package directory, and content. */
  templatedFiles: {
    /** The rendered file's path (posix, relative to the package): the `.tmpl` name, less `.tmpl`. */
    path: string;
    /** The file after rendering with `context`. */
    content: string;
  }[];
  /** With a target: the names of the packages its `stage:` dependencies resolved to, in file order. */
  dependsOn?: string[];
}

/** The whole tree as `bldr dump` prints it: every package after loading, or a target's closure. */
export interface Dump {
  /** The platform the tree was loaded for (it decides the template variables). */
  platform: Platform;
  /** The target asked for, when the dump is limited to one package's closure. */
  target?: string;
  /** The packages, sorted by name. */
  packages: DumpedPackage[];
}

/** Throws `TalosExtError` (the first resolution problem) when the target's graph does not resolve. */
export function toDump(tree: LoadedTree, options: DumpOptions = {}): Dump {
  const dump: Dump = { platform: tree.platform, packages: [] };
  if (options.target === undefined) {
    dump.packages = [...tree.packages.values()].map((p) => dumpPackage(p));
  } else {
    const graph = resolveGraph(tree, options.target);
    throwIfUnresolved(graph);
    dump.target = options.target;
    dump.packages = [...graph.nodes.values()].map((n) => {
      const names = n.dependencies.flatMap((d) => (d.node ? [d.node.name] : []));
      return dumpPackage(n.pkg, [...new Set(names)]);
    });
  }
  dump.packages.sort((a, b) => compareBytes(a.name, b.name));
  return dump;
}

function dumpPackage(p: LoadedPackage, dependsOn?: string[]): DumpedPackage {
  const context: Record<string, string> = {};
  for (const key of Object.keys(p.context).sort(compareBytes)) context[key] = p.context[key]!;
  const out: DumpedPackage = {
    name: p.name,
    dir: p.dir,
    file: p.file,
    pkg: p.pkg,
    context,
    templatedFiles: p.templatedFiles.map((t) => ({ path: t.path, content: t.content })),
  };
  if (dependsOn) out.dependsOn = dependsOn;
  return out;
}
