/**
 * What an output directory may be replaced with a new OCI layout: only a missing path, an empty
 * directory, or exactly an earlier layout. Anything else is user data and is refused, never
 * replaced wholesale. The OCI writer and the build both ask here.
 */
import type { Dirent } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { TalosExtError } from "@talos-ext/spec";

const LAYOUT_TOP = new Set(["oci-layout", "index.json", "blobs"]);
const ALGORITHM = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const ENCODED = /^[a-zA-Z0-9=_-]+$/;

function notLayout(outDir: string, what: string): TalosExtError {
  return new TalosExtError({
    code: "OCI_OUTPUT_NOT_LAYOUT",
    message: `${outDir} exists and is not an OCI image layout (${what}); nothing was replaced`,
    hint: "Choose an empty or new directory; an existing layout is replaced, anything else is left alone.",
    location: { file: outDir },
  });
}

/**
 * Refuses an output that would lose user data if replaced: anything but a missing path, an empty
 * directory, or a directory holding exactly an OCI layout (`oci-layout`, `index.json`,
 * `blobs/<algorithm>/<digest>` files). Returns whether there is something to replace (false for a
 * missing path).
 */
export async function checkOutputReplaceable(outDir: string): Promise<boolean> {
  const st = await lstat(outDir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (!st) return false;
  if (!st.isDirectory()) throw notLayout(outDir, st.isSymbolicLink() ? "a symlink" : "not a directory");
  const top = await readdir(outDir, { withFileTypes: true });
  if (top.length === 0) return true;
  if (!top.some((e) => e.name === "oci-layout" && e.isFile())) throw notLayout(outDir, "no oci-layout file");
  for (const e of top) {
    if (!LAYOUT_TOP.has(e.name)) throw notLayout(outDir, `it also holds "${e.name}"`);
    if (e.name === "blobs" ? !e.isDirectory() : !e.isFile())
      throw notLayout(outDir, `"${e.name}" has the wrong type`);
  }
  if (!top.some((e) => e.name === "blobs")) return true;
  for (const alg of await readdir(join(outDir, "blobs"), { withFileTypes: true })) {
    if (!alg.isDirectory() || !ALGORITHM.test(alg.name))
      throw notLayout(outDir, `it also holds "blobs/${alg.name}"`);
    const blobs: Dirent[] = await readdir(join(outDir, "blobs", alg.name), { withFileTypes: true });
    for (const b of blobs) {
      if (!b.isFile() || !ENCODED.test(b.name))
        throw notLayout(outDir, `it also holds "blobs/${alg.name}/${b.name}"`);
    }
  }
  return true;
}
