/**
 * Talos's path allow-list, checked before a build on what lint knows of an extension's image:
 * every non-directory under `rootfs/` must sit below an allowed prefix of the target release
 * (`/usr/local`, `/usr/lib/udev/rules.d`, firmware, modules, …). A udev rule under
 * `/etc/udev/rules.d` or a binary in `/usr/bin` is otherwise found only by the validator after
 * the build. Only paths lint knows (literal script commands, `/pkg` copies, stage outputs) are
 * checked, and a path that something opaque may have removed again is a warning.
 */
import { type Diagnostic, diagnostic } from "../errors.ts";
import { allowedPathPrefixes, isPathAllowed } from "../extension/rules.ts";
import type { LoadedPackage, LoadedTree } from "../loader/index.ts";
import { describeUnknown } from "./extension-lints.ts";
import type { FsEntry } from "./fs-facts.ts";
import type { TreeFilesystems } from "./package-fs.ts";

const ROOTFS = "/rootfs";

interface Offence {
  paths: string[];
  doubts: Set<string>;
  entry: FsEntry;
}

/** Non-directories of an extension image outside the allow-list of `talosVersion`, grouped by the instruction that made them. */
export async function lintAllowedPaths(
  tree: LoadedTree,
  p: LoadedPackage,
  talosVersion: string,
  filesystems: TreeFilesystems,
): Promise<Diagnostic[]> {
  const image = (await filesystems.of(p.name)).output;
  // Only extension images: a helper stage's /rootfs may be remapped by whoever uses it.
  if (image.lookup("/manifest.yaml").state !== "present") return [];
  const prefixes = allowedPathPrefixes(talosVersion);
  const byInstruction = new Map<string, Offence>();
  for (const [path, entry] of image.entriesUnder(ROOTFS)) {
    if (entry.kind === "dir" || image.isDir(path)) continue;
    const abs = path.slice(ROOTFS.length);
    if (isPathAllowed(abs, prefixes)) continue;
    const doubts = new Set(image.removalsAt(path));
    // A leaf of unknown kind inside unknown content may be a directory (`cp -r` of a build output).
    if (entry.kind === "any") for (const r of image.opaqueRootedAt(path)) doubts.add(r);
    const key = entry.madeBy ? `${entry.madeBy.pkg}\0${JSON.stringify(entry.madeBy.path)}` : "";
    const o = byInstruction.get(key) ?? { paths: [], doubts: new Set<string>(), entry };
    o.paths.push(abs);
    for (const d of doubts) o.doubts.add(d);
    byInstruction.set(key, o);
  }
  const out: Diagnostic[] = [];
  for (const o of byInstruction.values()) {
    const maker = o.entry.madeBy ? tree.packages.get(o.entry.madeBy.pkg) : undefined;
    const location = maker ? maker.doc.locate(o.entry.madeBy!.path) : p.doc.locate(["finalize"], "key");
    const shown =
      o.paths.slice(0, 3).join(", ") + (o.paths.length > 3 ? ` and ${o.paths.length - 3} more` : "");
    const certain = o.doubts.size === 0;
    out.push(
      diagnostic(
        "LINT_PATH_NOT_ALLOWED",
        certain ? "error" : "warning",
        `${p.name} ships ${shown} outside the paths Talos ${talosVersion} allows in extensions${certain ? "" : ` unless removed again (by ${describeUnknown([...o.doubts])})`}`,
        {
          hint: `the validator and the imager reject the image; put files under one of ${prefixes.join(", ")} (udev rules in /usr/lib/udev/rules.d, your own files under /usr/local)`,
          location,
        },
      ),
    );
  }
  return out;
}
