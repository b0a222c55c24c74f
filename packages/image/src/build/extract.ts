/** Unpacks the engine's exported tar into a directory, confined to it. */
import { createReadStream } from "node:fs";
import { chmod, link, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { posix } from "node:path";
import { OCI_TAR_CODES, readTar, TalosExtError } from "@talos-ext/spec";
import { resolveInRoot } from "./fs-root.ts";

export async function extractTar(tarFile: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  for await (const e of readTar(createReadStream(tarFile), { source: tarFile, policy: "extract", codes: OCI_TAR_CODES })) {
    const rel = posix.normalize(e.path);
    if (rel.startsWith("../") || rel === ".." || posix.isAbsolute(e.path)) {
      throw new TalosExtError({
        code: "BUILD_PATH_TRAVERSAL",
        message: `engine output entry "${e.path}" points outside the image root`,
        hint: "this is refused; check finalize paths for '..'",
      });
    }
    if (rel === "." || rel === "") continue;
    const target = await resolveInRoot(dest, rel, false);
    if (e.type === "dir") {
      await mkdir(target, { recursive: true });
      await chmod(target, e.mode & 0o7777);
      continue;
    }
    await mkdir(posix.dirname(target), { recursive: true });
    await rm(target, { force: true, recursive: true });
    if (e.type === "symlink") await symlink(e.linkTarget ?? "", target);
    else if (e.type === "hardlink") await link(await resolveInRoot(dest, e.linkTarget ?? "", false), target);
    else if (e.type === "file") {
      await writeFile(target, await e.bytes(), { mode: e.mode & 0o7777 });
      await chmod(target, e.mode & 0o7777);
    } else {
      throw new TalosExtError({
        code: "BUILD_SPECIAL_FILE",
        message: `engine output holds a ${e.type} device entry "${e.path}"`,
        hint: "Talos extensions may contain only regular files, directories and symlinks",
      });
    }
  }
}
