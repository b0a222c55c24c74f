/**
 * The build context for the engine: the Dockerfile, each package's directory as bldr puts it
 * in /pkg (minus dotfiles, pkg.yaml, vars.yaml and _out/, plus rendered templates), and the
 * verified source files. It is a fresh directory, so the repo's .dockerignore plays no part.
 *
 * The context is a host directory, not a container's view, so every write into it refuses to go
 * through a symlink: a package's symlinks are copied as symlinks, and a rendered template
 * replaces a symlink of the same name instead of being written through it.
 */
import type { Stats } from "node:fs";
import { mkdir } from "node:fs/promises";
import { posix } from "node:path";
import { ConfinedRoot, encodeUtf8Faithful } from "@talos-ext/spec";
import type { BuildPlan, PlannedContextDir } from "../plan/plan.ts";
import { confined } from "./fs-root.ts";

const SKIP_FILES = new Set(["pkg.yaml", "vars.yaml"]);

/** What bldr's context filter leaves out of a package directory. */
function skipContextEntry(relPath: string, _st: Stats): boolean {
  const name = posix.basename(relPath);
  return name.startsWith(".") || SKIP_FILES.has(name) || relPath === "_out" || relPath.endsWith("/_out");
}

/** Copies a package directory the way bldr's context filter sees it, then writes its rendered templates. */
export async function copyPackageDir(dir: PlannedContextDir, destRoot: string): Promise<void> {
  await confined(async () => {
    const root = new ConfinedRoot(destRoot, { symlinks: "refuse", owner: dir.package });
    await root.mkdir(dir.contextPath);
    await root.copyFrom(dir.sourceDir, dir.contextPath, { skip: skipContextEntry });
    // Go strings are bytes: bldr copies a template's invalid UTF-8 through unchanged, so the
    // faithful encoder turns the decoder's escapes back into those bytes (not U+FFFD).
    for (const t of dir.templated)
      await root.writeFile(posix.join(dir.contextPath, t.path), encodeUtf8Faithful(t.content), {
        mode: 0o644,
      });
  });
}

/** Writes the whole build context into `contextDir` (created); returns the Dockerfile's path. */
export async function writeBuildContext(
  plan: BuildPlan,
  contextDir: string,
  sourceFiles: Map<string, string>,
): Promise<string> {
  await mkdir(contextDir, { recursive: true });
  for (const dir of plan.contextDirs) await copyPackageDir(dir, contextDir);
  await confined(async () => {
    const root = new ConfinedRoot(contextDir, { symlinks: "refuse" });
    for (const src of plan.sources) {
      const from = sourceFiles.get(src.sha256);
      if (!from) throw new Error(`internal: source ${src.url} was not fetched`);
      await root.with({ owner: src.package }).copyFrom(from, src.contextPath);
      // BuildKit's HTTP source stores downloads as 0600; keep that.
      await root.chmod(src.contextPath, 0o600);
    }
    await root.writeFile("Dockerfile", plan.dockerfile);
    await root.writeFile(".dockerignore", "Dockerfile\n.dockerignore\n");
  });
  return posix.join(contextDir, "Dockerfile");
}
