import type { Diagnostic } from "../errors.ts";
import { DEFAULT_TALOS_VERSION } from "../extension/validate.ts";
import type { LoadedTree } from "../loader/index.ts";
import { lintAllowedPaths } from "./allowed-paths.ts";
import { lintCopyPaths } from "./copy-paths.ts";
import { lintManifest, lintServiceSpecs } from "./extension-lints.ts";
import { TreeFilesystems } from "./package-fs.ts";
import { packageLints } from "./tree-lints.ts";

/** Options of {@link lintTree}. */
export interface LintOptions {
  /** Talos version for the path allow-list and compatibility checks; default DEFAULT_TALOS_VERSION. */
  talosVersion?: string;
}

/** Lints beyond bldr's own validation, over every loaded package of a tree. */
export async function lintTree(tree: LoadedTree, options: LintOptions = {}): Promise<Diagnostic[]> {
  const talosVersion = options.talosVersion ?? DEFAULT_TALOS_VERSION;
  const out = packageLints(tree);
  // Content lints look at what each package's stage graph puts into its image, computed once per package.
  const filesystems = new TreeFilesystems(tree);
  for (const p of tree.packages.values()) {
    out.push(...lintCopyPaths(p));
    out.push(
      ...(await lintManifest(tree, p, talosVersion, filesystems)),
      ...(await lintServiceSpecs(tree, p, filesystems)),
      ...(await lintAllowedPaths(tree, p, talosVersion, filesystems)),
    );
  }
  // A path a shared stage makes is reported once, however many extensions include it.
  const seen = new Set<string>();
  return out.filter((d) => {
    const key = `${d.code}\0${d.file}\0${d.line}\0${d.column}\0${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export { type CopyPathProblem, copyPathProblems, lintCopyPaths } from "./copy-paths.ts";
export { splitImageRef } from "./image-ref.ts";
