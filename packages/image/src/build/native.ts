/**
 * The no-engine path: packages that run nothing (no scripts, no `install`, scratch variant) are
 * assembled with plain file operations, following the same recipe as the engine build:
 * merge dependencies -> /pkg (+ templates) -> sources into /tmp/build -> finalize.
 *
 * Every tree here is a container filesystem, written through `ConfinedRoot` with merge
 * semantics: symlinks resolve inside the tree as the container would see them (`var/run ->
 * /run` keeps working), a later layer's directory replaces a symlink that does not resolve to a
 * directory inside the tree, and nothing is ever written through a link onto the host.
 */
import { createReadStream } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { posix } from "node:path";
import { ConfinedRoot, mergeList, type ResolvedGraph, readOciLayout, TalosExtError } from "@talos-ext/spec";
import type { BuildPlan } from "../plan/plan.ts";
import { copyPackageDir } from "./context.ts";
import { confined } from "./fs-root.ts";

export interface NativeContext {
  plan: BuildPlan;
  graph: ResolvedGraph;
  workDir: string;
  sourceFiles: Map<string, string>;
  /** Pulls an image (already mirror-resolved) into an OCI layout dir. */
  pullImage: (ref: string, layoutDir: string) => Promise<void>;
}

/** Writes a pulled image's flattened filesystem into `dir`. */
async function unpackImage(layoutDir: string, platform: string, dir: string, ref: string): Promise<void> {
  const tree = await readOciLayout(layoutDir, platform);
  const root = new ConfinedRoot(dir, { replace: true, owner: ref });
  for (const e of tree.entries) {
    if (e.type === "dir") {
      await root.mkdir(e.path);
      await root.chmod(e.path, e.mode & 0o7777);
    } else if (e.type === "symlink") {
      await root.symlink(e.path, e.linkTarget ?? "");
    } else if (e.type === "file" || e.type === "hardlink") {
      const data = e.read ? await e.read() : new Uint8Array();
      await root.writeFile(e.path, data, { mode: e.mode & 0o7777 });
    }
  }
}

/** Builds every package of the plan natively; returns the target's finalize output directory. */
export async function assembleNatively(ctx: NativeContext): Promise<string> {
  return confined(() => assemble(ctx));
}

async function assemble(ctx: NativeContext): Promise<string> {
  const outputs = new Map<string, string>();
  const images = new Map<string, string>();
  const imageDir = async (ref: string): Promise<string> => {
    const known = images.get(ref);
    if (known) return known;
    const layout = await mkdtemp(posix.join(ctx.workDir, "image-"));
    await ctx.pullImage(ref, layout);
    const fs = await mkdtemp(posix.join(ctx.workDir, "imagefs-"));
    await unpackImage(layout, ctx.plan.platform, fs, ref);
    images.set(ref, fs);
    return fs;
  };

  for (const name of ctx.plan.packages) {
    const node = ctx.graph.nodes.get(name)!;
    const pkg = node.pkg.pkg;
    const rootfs = new ConfinedRoot(await mkdtemp(posix.join(ctx.workDir, `build-${name}-`)), {
      replace: true,
    });
    await rootfs.mkdir("/pkg");
    for (const entry of mergeList(ctx.graph, name)) {
      const d = entry.dep;
      let srcRoot: string;
      let brought: string;
      if (d.stage !== undefined) {
        srcRoot = outputs.get(d.stage)!;
        brought = d.stage;
      } else {
        const resolved = ctx.plan.images.find((i) => i.ref === d.image)?.resolved ?? d.image!;
        srcRoot = await imageDir(resolved);
        brought = d.image!;
      }
      const fromPath = d.from ?? "/";
      const from = await new ConfinedRoot(srcRoot, { owner: brought }).resolve(fromPath);
      if (from === undefined) {
        throw new TalosExtError({
          code: "BUILD_DEPENDENCY_FROM_MISSING",
          message: `package "${name}": dependency ${d.stage !== undefined ? `stage "${d.stage}"` : `image "${d.image}"`} has no "${fromPath}"`,
          hint: "a dependency's `from` is a path in that stage's finalize output (or the image's filesystem); check the path",
          location: node.pkg.doc.locate(["dependencies"]),
        });
      }
      // Symlinks the dependency brings are remembered as its own, so an error can name it.
      await rootfs.withOwner(brought).copyFrom(from, d.to ?? "/");
    }
    const dir = ctx.plan.contextDirs.find((c) => c.package === name)!;
    const staging = await mkdtemp(posix.join(ctx.workDir, "ctx-"));
    await copyPackageDir(dir, staging);
    await rootfs.withOwner(name).copyFrom(posix.join(staging, dir.contextPath), "/pkg");
    if (pkg.steps.length > 0) await rootfs.mkdir("/tmp/build");
    for (const src of ctx.plan.sources.filter((s) => s.package === name)) {
      await rootfs
        .withOwner(name)
        .writeFile(
          posix.join("/tmp/build", src.destination),
          createReadStream(ctx.sourceFiles.get(src.sha256)!),
          {
            mode: 0o600,
          },
        );
    }
    const outDir = await mkdtemp(posix.join(ctx.workDir, `final-${name}-`));
    const out = new ConfinedRoot(outDir, { replace: true, owner: name });
    const workdir = pkg.steps.length > 0 ? "/tmp/build" : "/pkg";
    for (const f of pkg.finalize) {
      const fromPath = posix.resolve(workdir, f.from ?? "");
      const from = await rootfs.resolve(fromPath);
      if (from === undefined) {
        throw new TalosExtError({
          code: "BUILD_FINALIZE_MISSING",
          message: `package "${name}": finalize source "${fromPath}" does not exist`,
          hint: "finalize copies from the build's filesystem; check the path (relative paths start at the working directory)",
          location: node.pkg.doc.locate(["finalize"]),
        });
      }
      await out.copyFrom(from, f.to ?? "/");
    }
    outputs.set(name, outDir);
  }
  return outputs.get(ctx.plan.target)!;
}
