/** Test support: real bldr trees written to temp directories. */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const PKGFILE = "# syntax = ghcr.io/siderolabs/bldr:v0.6.3\nformat: v1alpha2\n";

export interface TempDir {
  root: string;
  cleanup(): Promise<void>;
}

export async function writeTree(files: Record<string, string>): Promise<TempDir> {
  const root = await mkdtemp(join(tmpdir(), "talos-ext-img-"));
  for (const [rel, content] of Object.entries(files)) {
    const abs = join(root, rel);
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, content);
  }
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export const HEX64 = "a".repeat(64);
export const HEX128 = "b".repeat(128);
