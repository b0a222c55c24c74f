/** Unpacks the engine's exported tar into a directory, confined to it. */
import { createReadStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { posix } from "node:path";
import { ConfinedRoot, OCI_TAR_CODES, readTar, TalosExtError } from "@talos-ext/spec";
import { confined } from "./fs-root.ts";

/** Extracts `tarFile` into `dest` (created); every write resolves inside `dest`, as in the image. */
export async function extractTar(tarFile: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  const root = new ConfinedRoot(dest);
  await confined(async () => {
    for await (const e of readTar(createReadStream(tarFile), {
      source: tarFile,
      policy: "extract",
      codes: OCI_TAR_CODES,
    })) {
      const rel = posix.normalize(e.path);
      if (rel.startsWith("../") || rel === ".." || posix.isAbsolute(e.path)) {
        throw new TalosExtError({
          code: "BUILD_PATH_TRAVERSAL",
          message: `engine output entry "${e.path}" points outside the image root`,
          hint: "this is refused; check finalize paths for '..'",
        });
      }
      if (rel === "." || rel === "") continue;
      if (e.type === "dir") {
        await root.mkdir(rel);
        await root.chmod(rel, e.mode & 0o7777);
      } else if (e.type === "symlink") await root.symlink(rel, e.linkTarget ?? "");
      else if (e.type === "hardlink") await root.link(rel, e.linkTarget ?? "");
      else if (e.type === "file") await root.writeFile(rel, await e.bytes(), { mode: e.mode & 0o7777 });
      else {
        throw new TalosExtError({
          code: "BUILD_SPECIAL_FILE",
          message: `engine output holds a ${e.type} device entry "${e.path}"`,
          hint: "Talos extensions may contain only regular files, directories and symlinks",
        });
      }
    }
  });
}
