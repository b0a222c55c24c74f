/**
 * The build context for the engine: the Dockerfile, each package's directory as bldr puts it
 * in /pkg (minus dotfiles, pkg.yaml, vars.yaml and _out/, plus rendered templates), and the
 * verified source files. It is a fresh directory, so the repo's .dockerignore plays no part.
 */
import { chmod, copyFile, lstat, mkdir, readdir, writeFile } from "node:fs/promises";
import { posix } from "node:path";
import type { BuildPlan, PlannedContextDir } from "../plan/plan.ts";
import { copyInto, writeFileIn } from "./fs-root.ts";

const SKIP_FILES = new Set(["pkg.yaml", "vars.yaml"]);

/** Copies a package directory the way bldr's context filter sees it. */
export async function copyPackageDir(dir: PlannedContextDir, destRoot: string): Promise<void> {
  const dest = posix.join(destRoot, dir.contextPath);
  await mkdir(dest, { recursive: true });
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(posix.join(dir.sourceDir, rel))).sort()) {
      if (name.startsWith(".") || SKIP_FILES.has(name)) continue;
      const relPath = rel ? `${rel}/${name}` : name;
      if (relPath === "_out" || relPath.endsWith("/_out")) continue;
      const src = posix.join(dir.sourceDir, relPath);
      const st = await lstat(src);
      if (st.isDirectory()) {
        await mkdir(posix.join(dest, relPath), { recursive: true });
        await walk(relPath);
      } else {
        await copyInto(src, posix.join(dest, relPath));
      }
    }
  };
  await walk("");
  for (const t of dir.templated) await writeFileIn(dest, t.path, t.content, 0o644);
}

export async function writeBuildContext(
  plan: BuildPlan,
  contextDir: string,
  sourceFiles: Map<string, string>,
): Promise<string> {
  await mkdir(contextDir, { recursive: true });
  for (const dir of plan.contextDirs) await copyPackageDir(dir, contextDir);
  for (const src of plan.sources) {
    const from = sourceFiles.get(src.sha256);
    if (!from) throw new Error(`internal: source ${src.url} was not fetched`);
    const dest = posix.join(contextDir, src.contextPath);
    await mkdir(posix.dirname(dest), { recursive: true });
    await copyFile(from, dest);
    // BuildKit's HTTP source stores downloads as 0600; keep that.
    await chmod(dest, 0o600);
  }
  const dockerfile = posix.join(contextDir, "Dockerfile");
  await writeFile(dockerfile, plan.dockerfile);
  await writeFile(posix.join(contextDir, ".dockerignore"), "Dockerfile\n.dockerignore\n");
  return dockerfile;
}
