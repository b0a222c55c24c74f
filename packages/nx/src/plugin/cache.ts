/**
 * Tree summaries cached by a hash of everything they depend on: the tree's files (Nx's own file
 * hashes, so nothing is read to compute it), the options and this plugin's own version. A
 * 500-package tree is read once; later Nx start-ups read one JSON entry.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type CreateNodesContextV2, hashArray } from "@nx/devkit";
import {
  calculateHashesForCreateNodes,
  hashObject,
  PluginCache,
  workspaceDataDirectory,
} from "@nx/devkit/internal";
import type { NormalizedOptions } from "./options.ts";
import type { TreeSummary } from "./tree-packages.ts";

/** Bump when the shape of a summary or the way it is computed changes. */
const SUMMARY_FORMAT = 2;

/** This plugin's version (from its package.json), part of every cache key. */
const PLUGIN_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    return String(pkg.version);
  } catch {
    return "unknown";
  }
})();

/**
 * Reads a tree with @talos-ext/spec. Spec is imported here, on a cache miss only: loading it
 * (zod, the template engine) is most of the plugin's start-up cost, and a warm cache needs none of it.
 */
export async function summarizeTree(workspaceRoot: string, treeRoot: string): Promise<TreeSummary> {
  const { summarizeTree: read } = await import("./tree-packages.ts");
  return read(workspaceRoot, treeRoot);
}

/** In-process memo: createNodes and createDependencies of one run share the summaries. */
const memo = new Map<string, TreeSummary>();

/** Summaries of every root that exists, in the order given, each computed at most once per hash. */
export async function summarizeRoots(
  context: Pick<CreateNodesContextV2, "workspaceRoot" | "nxJsonConfiguration">,
  roots: string[],
  options: NormalizedOptions,
): Promise<TreeSummary[]> {
  if (roots.length === 0) return [];
  const { workspaceRoot } = context;
  const hashes = await calculateHashesForCreateNodes(roots, { roots: options.roots }, context);
  const keys = hashes.map((h) => hashArray([h, String(SUMMARY_FORMAT), PLUGIN_VERSION]));
  const cachePath = join(workspaceDataDirectory, `talos-ext-${hashObject(options.roots)}.hash`);
  const cache = new PluginCache<TreeSummary>(cachePath);
  let dirty = false;
  const out: TreeSummary[] = [];
  for (const [i, root] of roots.entries()) {
    const key = keys[i]!;
    let summary = memo.get(key) ?? cache.get(key);
    if (!summary) {
      summary = await summarizeTree(workspaceRoot, root);
      cache.set(key, summary);
      dirty = true;
    }
    memo.set(key, summary);
    out.push(summary);
  }
  if (dirty) cache.writeToDisk();
  return out;
}
