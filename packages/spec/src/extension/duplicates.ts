/**
 * Files shipped by more than one extension of the same installer. Talos does no conflict
 * detection (the later overlay silently wins), so this mirrors the official repo's CI check
 * (extensions-duplicate-finder): non-directories, `modules.*` basenames and `manifest.yaml` ignored.
 */
import { type Diagnostic, diagnostic } from "../errors.ts";
import { normalizeArchivePath } from "../tar/paths.ts";
import { type ExtensionTree, entryLocation } from "./tree.ts";

/** Files shipped by more than one of `trees` (installed together), as `EXT_DUPLICATE_PATH` warnings. */
export function findDuplicatePaths(trees: readonly ExtensionTree[]): Diagnostic[] {
  const owners = new Map<string, number[]>();
  trees.forEach((tree, i) => {
    const seen = new Set<string>();
    for (const e of tree.entries) {
      if (e.type === "dir") continue;
      const path = normalizeArchivePath(e.path, tree.source);
      const base = path.slice(path.lastIndexOf("/") + 1);
      if (path === "manifest.yaml" || base.startsWith("modules.") || seen.has(path)) continue;
      seen.add(path);
      let list = owners.get(path);
      if (!list) owners.set(path, (list = []));
      list.push(i);
    }
  });
  const out: Diagnostic[] = [];
  for (const [path, list] of [...owners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (list.length < 2) continue;
    const names = list.map((i) => trees[i]!.source);
    const last = trees[list[list.length - 1]!]!;
    out.push(
      diagnostic(
        "EXT_DUPLICATE_PATH",
        "warning",
        `${path} is shipped by ${list.length} extensions: ${names.join(", ")}`,
        {
          hint:
            "Talos overlays extensions without conflict checks: the one listed last in the installer wins " +
            "(the order is a string sort of the list indexes, so 10 comes before 2); ship the file from one extension only",
          location: { file: entryLocation(last, path) },
        },
      ),
    );
  }
  return out;
}
