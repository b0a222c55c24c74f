/**
 * What the plugin needs to know about each package of a bldr tree, read with @talos-ext/spec
 * exactly as a build reads it (frontend walk), for every platform: a dependency that only one
 * platform renders is still an edge, so `affected` never misses it.
 */
import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import {
  decodeManifest,
  decodeYaml,
  type LoadedPackage,
  type LoadedTree,
  loadTree,
  PLATFORMS,
} from "@talos-ext/spec";

/** `extension`: its output carries a Talos manifest. `stage`: an internal build stage. */
export type PackageKind = "extension" | "stage";

/** One package of a tree, with every path relative to the workspace root (posix). */
export interface TreePackage {
  /** Its pkg.yaml `name:`: the Nx project name, and what `stage:` dependencies refer to. */
  name: string;
  /** The package directory: the Nx project root. */
  root: string;
  /** Its pkg.yaml. */
  file: string;
  /** `extension` when it has a manifest.yaml (plain or templated), else `stage`. */
  kind: PackageKind;
  /** `metadata.version` of the manifest (linux/amd64 rendering), when it has one. */
  version?: string;
  /** Files outside the package directory that shape it: the Pkgfile, each vars.yaml above it, templates attached from elsewhere. */
  sharedInputs: string[];
  /** Names of the packages its `stage:` dependencies resolve to (union over platforms, sorted). */
  stageDependencies: string[];
  /** Its `image:` dependencies as rendered (union over platforms, sorted). */
  imageDependencies: string[];
}

/** A pkg.yaml that did not load (bad YAML, template or schema; a broken vars.yaml above it). */
export interface UnloadedPackage {
  /** Its `name:` as written, when that line is plain text; else the directory's name. */
  name: string;
  /** The package directory: the Nx project root. */
  root: string;
  /** Its pkg.yaml, the file whose lint shows what is wrong. */
  file: string;
}

/** The packages of one tree root. */
export interface TreeSummary {
  /** The tree root, relative to the workspace root. */
  root: string;
  /** The packages that loaded, in the order the tree loads them (linux/amd64). */
  packages: TreePackage[];
  /** Kept as lint-only projects, so `nx run <name>:lint` shows what is wrong instead of "not found". */
  unloaded: UnloadedPackage[];
}

const join = (...parts: string[]) => posix.normalize(posix.join(...parts));

/** Every directory from the tree root down to `dir` (both included), as tree-relative paths. */
function ancestorsOf(dir: string): string[] {
  const out = [""];
  if (dir === "") return out;
  const parts = dir.split("/");
  for (let i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}

async function manifestVersion(tree: LoadedTree, p: LoadedPackage): Promise<string | undefined | null> {
  const templated = p.templatedFiles.find((t) => t.path === "manifest.yaml");
  let text = templated?.content;
  if (text === undefined) {
    text = await readFile(posix.join(tree.root, p.dir, "manifest.yaml"), "utf8").catch(() => undefined);
  }
  if (text === undefined) return null;
  try {
    const decoded = decodeManifest(decodeYaml(text, { file: `${p.dir}/manifest.yaml` }));
    return decoded.value?.metadata.version;
  } catch {
    // A broken manifest is lint's business; the package is still an extension.
    return undefined;
  }
}

/** Loads the tree at `workspaceRoot/treeRoot` for every platform; never throws for bad tree content. */
export async function summarizeTree(workspaceRoot: string, treeRoot: string): Promise<TreeSummary> {
  const abs = posix.join(workspaceRoot, treeRoot);
  const trees: LoadedTree[] = [];
  for (const platform of PLATFORMS) trees.push(await loadTree({ root: abs, platform }));
  const [first] = trees;
  const packages: TreePackage[] = [];
  if (!first) return { root: treeRoot, packages, unloaded: [] };
  const varsFiles = new Set(first.files.vars);
  for (const p of first.packages.values()) {
    const stages = new Set<string>();
    const images = new Set<string>();
    const templates = new Set<string>();
    for (const tree of trees) {
      const same = tree.packages.get(p.name);
      if (!same) continue;
      for (const dep of same.pkg.dependencies) {
        if (dep.stage !== undefined && tree.packages.has(dep.stage)) stages.add(dep.stage);
        if (dep.image !== undefined) images.add(dep.image);
      }
      for (const t of same.templatedFiles) templates.add(t.source);
    }
    const shared = new Set<string>();
    if (first.files.pkgfile) shared.add(join(treeRoot, first.files.pkgfile));
    for (const dir of ancestorsOf(p.dir)) {
      const vars = dir === "" ? "vars.yaml" : `${dir}/vars.yaml`;
      if (dir !== p.dir && varsFiles.has(vars)) shared.add(join(treeRoot, vars));
    }
    for (const t of templates) {
      if (p.dir !== "" && !t.startsWith(`${p.dir}/`)) shared.add(join(treeRoot, t));
    }
    const version = await manifestVersion(first, p);
    const pkg: TreePackage = {
      name: p.name,
      root: join(treeRoot, p.dir),
      file: join(treeRoot, p.file),
      kind: version === null ? "stage" : "extension",
      sharedInputs: [...shared].sort(),
      stageDependencies: [...stages].sort(),
      imageDependencies: [...images].sort(),
    };
    if (typeof version === "string") pkg.version = version;
    packages.push(pkg);
  }
  const loaded = new Set([...first.packages.values()].map((p) => p.file));
  const names = new Set(first.packages.keys());
  const unloaded: UnloadedPackage[] = [];
  for (const file of first.files.pkgs) {
    if (loaded.has(file)) continue;
    const dir = posix.dirname(file) === "." ? "" : posix.dirname(file);
    const name = await rawName(
      posix.join(abs, file),
      dir === "" ? posix.basename(treeRoot) : posix.basename(dir),
    );
    // A second package of a loaded name is a duplicate (lint reports it); it cannot be a project too.
    if (names.has(name)) continue;
    names.add(name);
    unloaded.push({ name, root: join(treeRoot, dir), file: join(treeRoot, file) });
  }
  return { root: treeRoot, packages, unloaded };
}

/** The `name:` line of a pkg.yaml that did not load, if it is plain text (no template). */
async function rawName(file: string, fallback: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  const m = /^name:[ \t]*["']?([A-Za-z0-9][A-Za-z0-9._-]*)["']?[ \t]*(#.*)?$/m.exec(text.slice(0, 65536));
  return m?.[1] ?? fallback;
}
