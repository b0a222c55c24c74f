/**
 * An extension image as a flat list of entries (what a directory walk, a tar or a flattened OCI
 * image yields), and an index over it that behaves like the extracted filesystem: implicit parent
 * directories, last entry wins, symlinks resolved only inside the tree.
 */
import { type Diagnostic, TalosExtError } from "../errors.ts";
import { normalizeArchivePath } from "../tar/paths.ts";

/** The kind of an {@link ExtensionEntry}: the file types a tar or a filesystem can hold. */
export type ExtensionEntryType =
  | "file"
  | "dir"
  | "symlink"
  | "hardlink"
  | "char"
  | "block"
  | "fifo"
  | "socket";

/** One entry of an extension image, as a directory walk, a tar or a flattened OCI image yields it. */
export interface ExtensionEntry {
  /** Relative POSIX path, e.g. `rootfs/usr/local/bin/x`. */
  path: string;
  /** What kind of file the entry is (tar and filesystem types mapped to one set). */
  type: ExtensionEntryType;
  /** Permission bits (`0o7777`). */
  mode: number;
  /** Byte size of a regular file's content; 0 for other types. */
  size: number;
  /** Symlink target as written, or the tree path a hardlink points at. */
  linkTarget?: string;
  /** Reads the entry's bytes when called; absent when the source cannot give them (not a regular file). */
  read?: () => Promise<Uint8Array> | Uint8Array;
}

/** An extension image as a flat list of entries, with where it came from (for locations in diagnostics). */
export interface ExtensionTree {
  /** Where the tree came from: a directory, an archive, an image, or a builder's label. */
  source: string;
  /** The entries in source order; later entries for one path win, as when extracting. */
  entries: ExtensionEntry[];
  /**
   * How locations are written: `dir` joins paths (`dir/rootfs/x`), anything else uses
   * `source:path` (`dist/x.tar:rootfs/x`). Defaults to `archive`.
   */
  kind?: "dir" | "archive";
  /** Findings of the reader that made the tree (unsafe paths and links in an archive). */
  diagnostics?: Diagnostic[];
}

/** `file` for a diagnostic about `path` inside `tree`. */
export function entryLocation(tree: Pick<ExtensionTree, "source" | "kind">, path: string): string {
  if (tree.kind === "dir") return path === "" ? tree.source : `${tree.source.replace(/\/+$/, "")}/${path}`;
  return path === "" ? tree.source : `${tree.source}:${path}`;
}

const MAX_SYMLINK_HOPS = 40;

export type Resolution =
  | { found: true; path: string; entry: ExtensionEntry }
  | { found: false; reason: "missing" | "outside" | "loop" | "not-a-directory" };

export class TreeIndex {
  readonly tree: ExtensionTree;
  readonly #entries = new Map<string, ExtensionEntry>();
  readonly #children = new Map<string, Set<string>>();

  constructor(tree: ExtensionTree) {
    this.tree = tree;
    this.#children.set("", new Set());
    for (const raw of tree.entries) {
      const path = normalizeArchivePath(raw.path, tree.source);
      if (path === "") continue;
      const entry = path === raw.path ? raw : { ...raw, path };
      const previous = this.#entries.get(path);
      // Extraction semantics: a later entry replaces an earlier one; a non-directory replacing a
      // directory takes its subtree with it.
      if (previous?.type === "dir" && entry.type !== "dir") this.#removeSubtree(path);
      this.#addParents(path);
      this.#entries.set(path, entry);
      if (entry.type === "dir" && !this.#children.has(path)) this.#children.set(path, new Set());
    }
  }

  #addParents(path: string) {
    const parts = path.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const child = parts.slice(0, i).join("/");
      const parent = parts.slice(0, i - 1).join("/");
      let set = this.#children.get(parent);
      if (!set) this.#children.set(parent, (set = new Set()));
      set.add(parts[i - 1]!);
      if (i < parts.length) {
        const existing = this.#entries.get(child);
        if (existing?.type !== "dir") {
          // A missing parent is created as a directory by extraction; a non-directory parent is
          // replaced by one (tar tools differ here; this keeps the tree a tree).
          this.#entries.set(child, { path: child, type: "dir", mode: 0o755, size: 0 });
        }
        if (!this.#children.has(child)) this.#children.set(child, new Set());
      }
    }
  }

  #removeSubtree(path: string) {
    const kids = this.#children.get(path);
    if (kids) {
      for (const k of kids) {
        const p = `${path}/${k}`;
        this.#removeSubtree(p);
        this.#entries.delete(p);
      }
      this.#children.delete(path);
    }
  }

  get(path: string): ExtensionEntry | undefined {
    return this.#entries.get(path);
  }

  has(path: string): boolean {
    return path === "" || this.#entries.has(path);
  }

  /** Names directly inside directory `path` (`""` is the tree root), sorted like Go's ReadDir. */
  list(path: string): string[] {
    return [...(this.#children.get(path) ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Every entry, in path order. */
  entries(): ExtensionEntry[] {
    return [...this.#entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * Resolves `path` (relative to the tree root) the way the kernel would inside a root at `base`:
   * symlinks in intermediate components are followed (and in the last one when `followFinal`);
   * absolute targets restart at `base`; `..` at `base` stays there when `clampAtBase`, else the
   * path is `outside`.
   */
  resolve(base: string, path: string, options: { followFinal: boolean; clampAtBase: boolean }): Resolution {
    const baseParts = base === "" ? [] : base.split("/");
    let rest = path.split("/").filter((p) => p !== "" && p !== ".");
    let cur: string[] = [];
    let hops = 0;
    while (rest.length > 0) {
      const part = rest.shift()!;
      if (part === "..") {
        if (cur.length === 0) {
          if (!options.clampAtBase) return { found: false, reason: "outside" };
        } else cur.pop();
        continue;
      }
      const candidate = [...baseParts, ...cur, part].join("/");
      const entry = this.#entries.get(candidate);
      if (!entry) return { found: false, reason: "missing" };
      const last = rest.length === 0;
      if (entry.type === "symlink" && (!last || options.followFinal)) {
        if (++hops > MAX_SYMLINK_HOPS) return { found: false, reason: "loop" };
        const target = entry.linkTarget ?? "";
        const targetParts = target.split("/").filter((p) => p !== "" && p !== ".");
        if (target.startsWith("/")) {
          if (!options.clampAtBase) return { found: false, reason: "outside" };
          cur = [];
        }
        rest = [...targetParts, ...rest];
        continue;
      }
      if (!last && entry.type !== "dir") return { found: false, reason: "not-a-directory" };
      cur.push(part);
    }
    const finalPath = [...baseParts, ...cur].join("/");
    const entry = this.#entries.get(finalPath) ?? (finalPath === base ? rootDir(finalPath) : undefined);
    if (!entry) return { found: false, reason: "missing" };
    return { found: true, path: finalPath, entry };
  }

  /**
   * The entry whose bytes `path` denotes: symlinks are followed inside the tree (never out of it)
   * and hardlinks to their target. Throws `EXT_ENTRY_UNREADABLE` when there is none.
   */
  readable(path: string): ExtensionEntry & { read: NonNullable<ExtensionEntry["read"]> } {
    const location = entryLocation(this.tree, path);
    const r = this.resolve("", path, { followFinal: true, clampAtBase: false });
    if (!r.found) {
      const why =
        r.reason === "outside"
          ? "it is a symlink that points outside the extension"
          : r.reason === "loop"
            ? "it is part of a symlink loop"
            : "it does not exist";
      throw unreadable(location, why);
    }
    let entry = r.entry;
    for (let hops = 0; entry.type === "hardlink" && !entry.read; hops++) {
      const target = entry.linkTarget === undefined ? undefined : this.#entries.get(entry.linkTarget);
      if (!target || hops > MAX_SYMLINK_HOPS) break;
      entry = target;
    }
    if (entry.type !== "file" && entry.type !== "hardlink")
      throw unreadable(location, `it is a ${entry.type}`);
    if (!entry.read) throw unreadable(location, "its content is not available");
    return entry as ExtensionEntry & { read: NonNullable<ExtensionEntry["read"]> };
  }

  /**
   * The bytes of the regular file at `path` (see `readable`); with `max`, a file larger than
   * that is refused (`EXT_ENTRY_TOO_LARGE`) before a byte is read.
   */
  async read(path: string, max?: number): Promise<Uint8Array> {
    const entry = this.readable(path);
    if (max !== undefined && entry.size > max)
      throw tooLarge(entryLocation(this.tree, path), entry.size, max);
    try {
      return await entry.read();
    } catch (e) {
      if (e instanceof TalosExtError) throw e;
      throw unreadable(entryLocation(this.tree, path), e instanceof Error ? e.message : String(e));
    }
  }

  /** Like `read`, for entries whose `read` is synchronous; a promise is reported as unreadable. */
  readSync(path: string, max?: number): Uint8Array {
    const entry = this.readable(path);
    if (max !== undefined && entry.size > max)
      throw tooLarge(entryLocation(this.tree, path), entry.size, max);
    let out: Uint8Array | Promise<Uint8Array>;
    try {
      out = entry.read();
    } catch (e) {
      if (e instanceof TalosExtError) throw e;
      throw unreadable(entryLocation(this.tree, path), e instanceof Error ? e.message : String(e));
    }
    if (out instanceof Uint8Array) return out;
    // Keep an unobserved rejection from crashing the process.
    Promise.resolve(out).catch(() => {});
    throw unreadable(
      entryLocation(this.tree, path),
      "its content is only available asynchronously (use validateExtensionTreeAsync)",
    );
  }
}

function rootDir(path: string): ExtensionEntry {
  return { path, type: "dir", mode: 0o755, size: 0 };
}

function unreadable(file: string, why: string): TalosExtError {
  return new TalosExtError({
    code: "EXT_ENTRY_UNREADABLE",
    message: `cannot read ${file}: ${why}`,
    hint: "make it a regular, readable file inside the extension",
    location: { file },
  });
}

/** `EXT_ENTRY_TOO_LARGE`: a document (manifest, service spec) above its cap. */
export function tooLarge(file: string, size: number, max: number): TalosExtError {
  return new TalosExtError({
    code: "EXT_ENTRY_TOO_LARGE",
    message: `${file} has ${size} bytes; extension documents are limited to ${max} bytes`,
    hint: "a manifest or service spec is a few KiB of YAML; this one is not what it claims to be",
    location: { file },
  });
}
