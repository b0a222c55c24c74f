/** Test support: real trees in temp directories (never imported by library code). */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const PKGFILE = "# syntax = ghcr.io/siderolabs/bldr:v0.6.3\nformat: v1alpha2\n";

export interface TempTree {
  root: string;
  cleanup(): Promise<void>;
}

/** Writes `files` (posix paths → content) under a fresh temp dir; `links` maps path → symlink target. */
export async function makeTree(
  files: Record<string, string>,
  links: Record<string, string> = {},
): Promise<TempTree> {
  const root = await mkdtemp(join(tmpdir(), "talos-ext-tree-"));
  for (const [rel, content] of Object.entries(files)) {
    const abs = join(root, rel);
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, content);
  }
  for (const [rel, target] of Object.entries(links)) {
    const abs = join(root, rel);
    await mkdir(dirname(abs), { recursive: true });
    await symlink(target, abs);
  }
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** A minimal valid pkg.yaml body. */
export function pkgYaml(name: string, extra = ""): string {
  return `name: ${name}\nvariant: scratch\n${extra}`;
}
