/**
 * The no-engine path: packages that run nothing (no scripts, no `install`, scratch variant) are
 * assembled with plain file operations, following the same recipe as the engine build:
 * merge dependencies -> /pkg (+ templates) -> sources into /tmp/build -> finalize.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, lstat, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { posix } from "node:path";
import { pipeline } from "node:stream/promises";
import { mergeList, type ResolvedGraph, readOciLayout, TalosExtError } from "@talos-ext/spec";
import type { BuildPlan } from "../plan/plan.ts";
import { copyPackageDir } from "./context.ts";
import { copyInto, resolveInRoot } from "./fs-root.ts";

export interface NativeContext {
  plan: BuildPlan;
  graph: ResolvedGraph;
  workDir: string;
  sourceFiles: Map<string, string>;
  /** Pulls an image (already mirror-resolved) into an OCI layout dir. */
  pullImage: (ref: string, layoutDir: string) => Promise<void>;
}

/** Writes a pulled image's flattened filesystem into `dir`. */
async function unpackImage(layoutDir: string, platform: string, dir: string): Promise<void> {
  const tree = await readOciLayout(layoutDir, platform);
  for (const e of tree.entries) {
    const dest = await resolveInRoot(dir, e.path, false);
    if (e.type === "dir") {
      await mkdir(dest, { recursive: true });
      await chmod(dest, e.mode & 0o7777);
    } else if (e.type === "symlink") {
      await mkdir(posix.dirname(dest), { recursive: true });
      await rm(dest, { force: true, recursive: true });
      await symlink(e.linkTarget ?? "", dest);
    } else if (e.type === "file" || e.type === "hardlink") {
      await mkdir(posix.dirname(dest), { recursive: true });
      const data = e.read ? await e.read() : new Uint8Array();
      await writeFile(dest, data, { mode: e.mode & 0o7777 });
    }
  }
}

/** Builds every package of the plan natively; returns the target's finalize output directory. */
export async function assembleNatively(ctx: NativeContext): Promise<string> {
  const outputs = new Map<string, string>();
  const images = new Map<string, string>();
  const imageDir = async (ref: string): Promise<string> => {
    const known = images.get(ref);
    if (known) return known;
    const layout = await mkdtemp(posix.join(ctx.workDir, "image-"));
    await ctx.pullImage(ref, layout);
    const fs = await mkdtemp(posix.join(ctx.workDir, "imagefs-"));
    await unpackImage(layout, ctx.plan.platform, fs);
    images.set(ref, fs);
    return fs;
  };

  for (const name of ctx.plan.packages) {
    const node = ctx.graph.nodes.get(name)!;
    const pkg = node.pkg.pkg;
    const rootfs = await mkdtemp(posix.join(ctx.workDir, `build-${name}-`));
    await mkdir(posix.join(rootfs, "pkg"), { recursive: true });
    for (const entry of mergeList(ctx.graph, name)) {
      const d = entry.dep;
      let srcRoot: string;
      if (d.stage !== undefined) srcRoot = outputs.get(d.stage)!;
      else {
        const resolved = ctx.plan.images.find((i) => i.ref === d.image)?.resolved ?? d.image!;
        srcRoot = await imageDir(resolved);
      }
      const from = await resolveInRoot(srcRoot, d.from ?? "/");
      const to = await resolveInRoot(rootfs, d.to ?? "/");
      await copyInto(from, to);
    }
    const dir = ctx.plan.contextDirs.find((c) => c.package === name)!;
    const staging = await mkdtemp(posix.join(ctx.workDir, "ctx-"));
    await copyPackageDir(dir, staging);
    await copyInto(posix.join(staging, dir.contextPath), posix.join(rootfs, "pkg"));
    if (pkg.steps.length > 0) await mkdir(posix.join(rootfs, "tmp/build"), { recursive: true });
    for (const src of ctx.plan.sources.filter((s) => s.package === name)) {
      const dest = await resolveInRoot(rootfs, posix.join("/tmp/build", src.destination), false);
      await mkdir(posix.dirname(dest), { recursive: true });
      await pipeline(
        createReadStream(ctx.sourceFiles.get(src.sha256)!),
        createWriteStream(dest, { mode: 0o600 }),
      );
    }
    const out = await mkdtemp(posix.join(ctx.workDir, `final-${name}-`));
    const workdir = pkg.steps.length > 0 ? "/tmp/build" : "/pkg";
    for (const f of pkg.finalize) {
      const fromPath = posix.resolve(workdir, f.from ?? "");
      const from = await resolveInRoot(rootfs, fromPath);
      const exists = await lstat(from).catch(() => undefined);
      if (!exists) {
        throw new TalosExtError({
          code: "BUILD_FINALIZE_MISSING",
          message: `package "${name}": finalize source "${fromPath}" does not exist`,
          hint: "finalize copies from the build's filesystem; check the path (relative paths start at the working directory)",
          location: node.pkg.doc.locate(["finalize"]),
        });
      }
      await copyInto(from, await resolveInRoot(out, f.to ?? "/"));
    }
    outputs.set(name, out);
  }
  return outputs.get(ctx.plan.target)!;
}
