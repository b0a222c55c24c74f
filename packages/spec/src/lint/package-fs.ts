/**
 * A package's filesystems as its stage graph makes them, computed from the source the way bldr
 * builds (bldr-format §6): base by variant → dependency merge list (each `stage:` dependency's
 * *finalize output*, copied `from` → `to`; images opaque) → `apk add` → package directory into
 * `/pkg` → steps (downloads, env, prepare/build/install scripts; `test` is detached and left
 * out) → `finalize` copies into an empty image. Content lints ask the final image.
 */
import { realpath } from "node:fs/promises";
import { posix } from "node:path";
import { mergeList } from "../graph/merge.ts";
import { resolveGraph } from "../graph/resolve.ts";
import type { ResolvedGraph } from "../graph/types.ts";
import { listDir } from "../loader/fs-walk.ts";
import type { LoadedPackage, LoadedTree } from "../loader/index.ts";
import { builtinVariables } from "../loader/platform.ts";
import { FsFacts, normalizePath, viaLabel } from "./fs-facts.ts";
import { applyScript } from "./script-effects.ts";

/** Script phases whose writes reach later steps and finalize (`test` runs detached). */
const LASTING_PHASES = ["prepare", "build", "install"] as const;
/** Where `apk add` puts packages; never the staging directories (`/rootfs`, `/pkg`, `/tmp/build`). */
const APK_DIRS = ["/bin", "/etc", "/lib", "/lib64", "/opt", "/sbin", "/usr", "/var"];
/** Where an extension image carries its service specs (Talos reads them from the node's /usr/local/etc/containers). */
const SPEC_DIR = "/rootfs/usr/local/etc/containers";
/** Beyond this many entries a package directory is taken as opaque rather than listed. */
const MAX_PKG_ENTRIES = 20000;

/** The two filesystems lint computes for a package. */
export interface PackageFilesystems {
  /** The build rootfs after the last step (what `finalize` copies from). */
  build: FsFacts;
  /** The package's image: what `finalize` puts into it (what dependents and Talos see). */
  output: FsFacts;
}

/** Computes and caches the filesystems of a tree's packages, each stage dependency once. */
export class TreeFilesystems {
  private readonly tree: LoadedTree;
  private readonly done = new Map<string, Promise<PackageFilesystems>>();
  private readonly graphs = new Map<string, ResolvedGraph>();
  private rootReal: Promise<string> | undefined;
  private shipped: Promise<Map<string, string[]>> | undefined;
  /** Packages being computed: meeting one again means a cycle, whose edge has no content. */
  private readonly active = new Set<string>();
  /** One `viaLabel` per stage, shared by every copy of that stage's output. */
  private readonly labels = new Map<string, (reason: string) => string>();

  private via(stage: string): (reason: string) => string {
    let label = this.labels.get(stage);
    if (!label) this.labels.set(stage, (label = viaLabel(`via stage ${stage}`)));
    return label;
  }

  constructor(tree: LoadedTree) {
    this.tree = tree;
  }

  /** The filesystems of package `name` (which must be loaded). */
  of(name: string): Promise<PackageFilesystems> {
    let p = this.done.get(name);
    if (!p) {
      p = this.compute(this.tree.packages.get(name)!);
      this.done.set(name, p);
    }
    return p;
  }

  /**
   * The packages whose image ships tree file `file` (traced through `/pkg` copies) among the
   * service specs under `/rootfs/usr/local/etc/containers/`, in tree load order.
   */
  async shippersOf(file: string): Promise<string[]> {
    this.shipped ??= (async () => {
      const index = new Map<string, string[]>();
      for (const name of this.tree.packages.keys()) {
        const { output } = await this.of(name);
        for (const [, e] of output.entriesUnder(SPEC_DIR)) {
          if (!e.origin) continue;
          const list = index.get(e.origin) ?? [];
          if (!list.includes(name)) list.push(name);
          index.set(e.origin, list);
        }
      }
      return index;
    })();
    return (await this.shipped).get(file) ?? [];
  }

  private graphOf(name: string): ResolvedGraph {
    let g = this.graphs.get(name);
    if (!g) {
      g = resolveGraph(this.tree, name);
      for (const n of g.nodes.keys()) if (!this.graphs.has(n)) this.graphs.set(n, g);
      this.graphs.set(name, g);
    }
    return g;
  }

  private async compute(p: LoadedPackage): Promise<PackageFilesystems> {
    this.active.add(p.name);
    try {
      return await this.computeNow(p);
    } finally {
      this.active.delete(p.name);
    }
  }

  private async computeNow(p: LoadedPackage): Promise<PackageFilesystems> {
    const build = new FsFacts();
    if (p.pkg.variant === "alpine") build.addOpaque("/", "the alpine base image");
    build.add("/pkg", { kind: "dir" });
    await this.dependencies(p, build);
    if (p.pkg.install.length) {
      const why = `\`apk add ${p.pkg.install.join(" ")}\` in ${p.file}`;
      for (const d of APK_DIRS) build.addOpaque(d, why);
    }
    await this.packageDir(p, build);
    this.steps(p, build);
    const output = new FsFacts();
    const workdir = p.pkg.steps.length ? "/tmp/build" : "/pkg";
    for (const f of p.pkg.finalize) {
      output.copyFrom(build, normalizePath(f.from ?? "", workdir), f.to ?? "/");
    }
    return { build, output };
  }

  private async dependencies(p: LoadedPackage, build: FsFacts): Promise<void> {
    const graph = this.graphOf(p.name);
    if (!graph.nodes.has(p.name)) return;
    for (const entry of mergeList(graph, p.name)) {
      const dep = entry.dep;
      const from = normalizePath(dep.from ?? "/");
      const to = normalizePath(dep.to ?? "/");
      if (dep.image !== undefined) {
        const why = `image ${dep.image}`;
        if (to !== "/") build.add(to, { kind: "dir" });
        build.addOpaque(to, why);
        continue;
      }
      const stage = dep.stage!;
      // A cycle or an unknown stage is reported by the graph lints; here it is just unknown content.
      if (!entry.node || this.active.has(stage)) {
        build.addOpaque(to, `stage ${stage} (unresolved)`);
        continue;
      }
      const dependency = await this.of(stage);
      build.copyFrom(dependency.output, from, dep.to ?? "/", this.via(stage));
    }
  }

  /** The package directory as bldr copies it into `/pkg`, then the rendered `*.tmpl` files. */
  private async packageDir(p: LoadedPackage, build: FsFacts): Promise<void> {
    this.rootReal ??= realpath(this.tree.root);
    const rootReal = await this.rootReal;
    let count = 0;
    const walk = async (rel: string): Promise<boolean> => {
      const entries = await listDir(rootReal, posix.join(this.tree.root, p.dir, rel));
      if (!entries) return true;
      for (const e of entries) {
        // bldr's context excludes dotfiles at any depth, every pkg.yaml/vars.yaml and the root _out/.
        if (e.name.startsWith(".") || e.name === "pkg.yaml" || e.name === "vars.yaml") continue;
        if (p.dir === "" && rel === "" && e.name === "_out") continue;
        if (++count > MAX_PKG_ENTRIES) return false;
        const relPath = rel ? `${rel}/${e.name}` : e.name;
        const at = posix.join("/pkg", relPath);
        if (e.kind === "dir") {
          build.add(at, { kind: "dir" });
          if (!(await walk(relPath))) return false;
        } else if (e.kind === "file") {
          build.add(at, { kind: "file", origin: posix.join(p.dir, relPath) });
        } else if (e.kind === "symlink-dir") {
          build.add(at, { kind: "any" });
          build.addOpaque(at, `the symlinked directory ${posix.join(p.dir, relPath)}`);
        }
      }
      return true;
    };
    if (!(await walk(""))) build.addOpaque("/pkg", `${p.dir || "the tree root"} (too many files to list)`);
    for (const t of p.templatedFiles)
      build.add(posix.join("/pkg", t.path), { kind: "file", origin: t.source });
  }

  private steps(p: LoadedPackage, build: FsFacts): void {
    const env: Record<string, string> = { ...builtinVariables(this.tree.platform) };
    p.pkg.steps.forEach((step, s) => {
      build.add("/tmp/build", { kind: "dir" });
      for (const src of step.sources) build.add(posix.join("/tmp/build", src.destination), { kind: "file" });
      Object.assign(env, step.env);
      for (const phase of LASTING_PHASES) {
        step[phase].forEach((script, i) => {
          applyScript(build, script, {
            where: `${p.file} steps[${s}].${phase}[${i}]`,
            madeBy: { pkg: p.name, path: ["steps", s, phase, i] },
            env: { ...env, PKG_NAME: p.name },
          });
        });
      }
      if (step.sbom?.outputPath) build.add(step.sbom.outputPath, { kind: "file" });
    });
  }
}
