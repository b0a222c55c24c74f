/**
 * File operations confined to a root directory, as a container's view of its filesystem:
 * symlinks are resolved inside the root (".." stops at the root, absolute targets restart at
 * it), so no path or link in a package can reach the host outside the build.
 */
import { constants } from "node:fs";
import { chmod, copyFile, lstat, mkdir, readdir, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { posix } from "node:path";

const MAX_LINKS = 40;

/** The host path for `path` inside `root`, following symlinks the way the container would. */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  const parts = posix.normalize(`/${path}`).split("/").filter(Boolean);
  const resolved: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    if (part === ".") continue;
    const host = posix.join(root, ...resolved, part);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isSymbolicLink() && (parts.length > 0 || followLast)) {
      if (++hops > MAX_LINKS)
        throw Object.assign(new Error(`too many levels of symbolic links: ${path}`), { code: "ELOOP" });
      const target = await readlink(host);
      if (target.startsWith("/")) resolved.length = 0;
      parts.unshift(...target.split("/").filter(Boolean));
      continue;
    }
    resolved.push(part);
  }
  return posix.join(root, ...resolved);
}

/**
 * Copies `src` (a file or the contents of a directory) to `dest`, creating parents, keeping
 * modes and symlinks as they are (never following them).
 */
export async function copyInto(src: string, dest: string): Promise<void> {
  const st = await lstat(src);
  if (st.isDirectory()) {
    await mkdir(dest, { recursive: true });
    for (const name of await readdir(src)) await copyInto(posix.join(src, name), posix.join(dest, name));
    return;
  }
  await mkdir(posix.dirname(dest), { recursive: true });
  const existing = await lstat(dest).catch(() => undefined);
  if (existing?.isDirectory() && !st.isDirectory()) {
    // Copying a file onto a directory puts it inside, as COPY does.
    return copyInto(src, posix.join(dest, posix.basename(src)));
  }
  if (existing) await rm(dest, { recursive: true, force: true });
  if (st.isSymbolicLink()) {
    await symlink(await readlink(src), dest);
  } else if (st.isFile()) {
    await copyFile(src, dest, constants.COPYFILE_FICLONE);
    await chmod(dest, st.mode & 0o7777);
  }
  // Devices, FIFOs and sockets are not copied: a build context never needs them.
}

export async function writeFileIn(
  root: string,
  rel: string,
  content: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const host = posix.join(root, rel);
  await mkdir(posix.dirname(host), { recursive: true, mode: 0o755 });
  await writeFile(host, content, { mode });
  await chmod(host, mode);
}
