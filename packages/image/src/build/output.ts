/**
 * The build's output directory: it is replaced only when it is empty or holds nothing but an OCI
 * image layout (user data is never lost), and only one build at a time writes it, so two builds
 * finalizing the same `--output` cannot corrupt it: the second gets a coded error.
 */
import { open, readFile, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { TalosExtError } from "@talos-ext/spec";
import { pidAlive } from "./cleanup.ts";

// One rule for what an output may replace, shared with the OCI writer.
export { checkOutputReplaceable } from "../oci/replaceable.ts";

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
