/**
 * The build's output directory: it is replaced only when it is empty or holds nothing but an OCI
 * image layout (user data is never lost), and only one build at a time writes it, so two builds
 * finalizing the same `--output` cannot corrupt it: the second gets a coded error.
 */
import type { Dirent } from "node:fs";
import { lstat, open, readdir, readFile, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { TalosExtError } from "@talos-ext/spec";
import { pidAlive } from "./cleanup.ts";

const LAYOUT_TOP = new Set(["oci-layout", "index.json", "blobs"]);
const ALGORITHM = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const ENCODED = /^[a-zA-Z0-9=_-]+$/;

function notLayout(outDir: string, what: string): TalosExtError {
  return new TalosExtError({
    code: "OCI_OUTPUT_NOT_LAYOUT",
    message: `${outDir} exists and is not an OCI image layout (${what}); nothing was replaced`,
    hint: "Choose an empty or new directory; an existing layout is replaced, anything else is left alone.",
  });
}

/**
 * Refuses an output that would lose user data if replaced: anything but a missing path, an empty
 * directory, or a directory holding exactly an OCI layout (`oci-layout`, `index.json`,
 * `blobs/<algorithm>/<digest>` files).
 */
export async function checkOutputReplaceable(outDir: string): Promise<void> {
  const st = await lstat(outDir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (!st) return;
  if (!st.isDirectory()) throw notLayout(outDir, st.isSymbolicLink() ? "a symlink" : "not a directory");
  const top = await readdir(outDir, { withFileTypes: true });
  if (top.length === 0) return;
  if (!top.some((e) => e.name === "oci-layout" && e.isFile())) throw notLayout(outDir, "no oci-layout file");
  for (const e of top) {
    if (!LAYOUT_TOP.has(e.name)) throw notLayout(outDir, `it also holds "${e.name}"`);
    if (e.name === "blobs" ? !e.isDirectory() : !e.isFile())
      throw notLayout(outDir, `"${e.name}" has the wrong type`);
  }
  if (!top.some((e) => e.name === "blobs")) return;
  for (const alg of await readdir(join(outDir, "blobs"), { withFileTypes: true })) {
    if (!alg.isDirectory() || !ALGORITHM.test(alg.name))
      throw notLayout(outDir, `it also holds "blobs/${alg.name}"`);
    const blobs: Dirent[] = await readdir(join(outDir, "blobs", alg.name), { withFileTypes: true });
    for (const b of blobs) {
      if (!b.isFile() || !ENCODED.test(b.name))
        throw notLayout(outDir, `it also holds "blobs/${alg.name}/${b.name}"`);
    }
  }
}

/** The lock beside the output: `.<name>.talos-ext-lock`, holding the owner's PID. */
export function outputLockPath(outDir: string): string {
  return join(dirname(outDir), `.${basename(outDir)}.talos-ext-lock`);
}

function busy(outDir: string, pid: number | undefined): TalosExtError {
  return new TalosExtError({
    code: "BUILD_OUTPUT_BUSY",
    message: `another build${pid ? ` (PID ${pid})` : ""} is writing ${outDir} right now; this one wrote nothing`,
    hint: "wait for it to finish, or give this build another --output",
  });
}

/**
 * Takes the output's lock for `fn`: created exclusively, so of two builds only one writes; a
 * lock whose PID is dead (a killed run) is taken over.
 */
export async function withOutputLock<T>(outDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = outputLockPath(outDir);
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(lock, "wx", 0o644);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number.parseInt(await readFile(lock, "utf8").catch(() => ""), 10);
      // A lock being written right now reads empty: that build is alive.
      if (attempt > 0 || Number.isNaN(pid) || pidAlive(pid))
        throw busy(outDir, Number.isNaN(pid) ? undefined : pid);
      await rm(lock, { force: true });
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}
