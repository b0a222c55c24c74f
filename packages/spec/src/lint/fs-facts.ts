/**
 * What lint knows about one filesystem before anything is built (a package's build rootfs, or
 * the image its `finalize` makes): paths known to exist, and regions whose content cannot be
 * known from the source (an image, an opaque script). A question about a path has three answers:
 * present, absent (certain), or unknown (with the reasons why lint cannot tell).
 */
import { posix } from "node:path";

/** One path known to exist. `origin` is the tree file it was copied from, when traceable. */
export interface FsEntry {
  /** `any`: exists, but whether it is a directory is not known (e.g. `cp -r` of a build output). */
  kind: "file" | "dir" | "any";
  origin?: string;
  /** The script instruction that made it: a package and the YAML path of the instruction. */
  madeBy?: { pkg: string; path: readonly (string | number)[] };
}

/** A region whose content is unknown: anything may exist at or below `prefix`. */
export interface OpaqueRegion {
  /** Normalised absolute path the region starts at. */
  prefix: string;
  /** What made it, as a noun phrase for messages (`image x`, `` `make` in a/pkg.yaml steps[0].install[0] ``). */
  reason: string;
}

/** What lint can say about one path. */
export type PathAnswer =
  | { state: "present"; entry: FsEntry }
  | { state: "absent" }
  | { state: "unknown"; reasons: string[] };

/** Normalises to an absolute POSIX path without `.`/`..`/trailing slash (`/` stays `/`). */
export function normalizePath(p: string, cwd = "/"): string {
  const abs = p.startsWith("/") ? p : posix.join(cwd, p);
  const out = posix.normalize(abs);
  return out.length > 1 && out.endsWith("/") ? out.slice(0, -1) : out;
}

/** `path` is `dir` or below it. */
export function isUnder(path: string, dir: string): boolean {
  return dir === "/" || path === dir || path.startsWith(`${dir}/`);
}

/** `path` re-rooted from `from` to `to` (both normalised, `path` under `from`). */
function rebase(path: string, from: string, to: string): string {
  const rel = from === "/" ? path.slice(1) : path.slice(from.length + 1);
  // Both normalised and `rel` never empty or dotted: a plain join is posix.join here.
  return rel === "" ? to : to === "/" ? `/${rel}` : `${to}/${rel}`;
}

/**
 * A `copyFrom` label that appends ` ${via}` to each reason, the same string object for the same
 * reason: a reason travels through every later copy of a stage chain, and a string made anew
 * each time would be hashed anew each time (its length grows along the chain).
 */
export function viaLabel(via: string): (reason: string) => string {
  const made = new Map<string, string>();
  return (reason) => {
    let out = made.get(reason);
    if (out === undefined) made.set(reason, (out = `${reason} ${via}`));
    return out;
  };
}

/**
 * Regions in the order they were recorded, each (prefix, reason) once. The set makes recording
 * constant-time: copies along a stage chain carry every region of every stage before, and a
 * linear duplicate check made long chains quadratic.
 */
class Regions {
  list: OpaqueRegion[] = [];
  /** Reasons recorded per prefix (no combined key: reasons get long along a chain of stages). */
  private readonly seen = new Map<string, Set<string>>();

  add(prefix: string, reason: string): void {
    let reasons = this.seen.get(prefix);
    if (!reasons) this.seen.set(prefix, (reasons = new Set()));
    if (reasons.has(reason)) return;
    reasons.add(reason);
    this.list.push({ prefix, reason });
  }

  /** Keeps only the regions `keep` accepts. */
  retain(keep: (o: OpaqueRegion) => boolean): void {
    const kept = this.list.filter(keep);
    this.list = [];
    this.seen.clear();
    for (const o of kept) this.add(o.prefix, o.reason);
  }
}

/** Known paths and unknown regions of one filesystem, with BuildKit-like copies between them. */
export class FsFacts {
  /** Known paths; their ancestors are directories and exist too (kept in `dirs`). */
  private readonly entries = new Map<string, FsEntry>();
  private readonly dirs = new Set<string>(["/"]);
  private readonly opaque = new Regions();
  /** Regions where something may have removed known paths (a computed `rm`, a build system). */
  private readonly removals = new Regions();

  /** Records that `path` exists (a later record of the same path replaces the earlier). */
  add(path: string, entry: FsEntry): void {
    const p = normalizePath(path);
    if (p === "/") return;
    this.entries.set(p, entry);
    for (let d = posix.dirname(p); ; d = posix.dirname(d)) {
      this.dirs.add(d);
      if (d === "/") break;
    }
    if (entry.kind === "dir") this.dirs.add(p);
  }

  /** Records that anything may exist at or below `prefix` (the prefix itself included). */
  addOpaque(prefix: string, reason: string): void {
    this.opaque.add(normalizePath(prefix), reason);
  }

  /** Records that known paths at or below `prefix` may have been removed. */
  addRemoval(prefix: string, reason: string): void {
    this.removals.add(normalizePath(prefix), reason);
  }

  /** Why a known `path` may be gone after all (empty when nothing may have removed it). */
  removalsAt(path: string): string[] {
    const p = normalizePath(path);
    return [...new Set(this.removals.list.filter((o) => isUnder(p, o.prefix)).map((o) => o.reason))];
  }

  /** The reasons of opaque regions rooted exactly at `path` (what was copied there unseen). */
  opaqueRootedAt(path: string): string[] {
    const p = normalizePath(path);
    return [...new Set(this.opaque.list.filter((o) => o.prefix === p).map((o) => o.reason))];
  }

  /** Forgets what is at or below `path` (`rm -rf`); opaque regions above it stay. */
  remove(path: string): void {
    const p = normalizePath(path);
    if (p === "/") return;
    for (const k of [...this.entries.keys()]) if (isUnder(k, p)) this.entries.delete(k);
    this.opaque.retain((o) => !isUnder(o.prefix, p));
    this.removals.retain((o) => !isUnder(o.prefix, p));
    this.dirs.clear();
    this.dirs.add("/");
    for (const [k, e] of [...this.entries]) this.add(k, e);
  }

  lookup(path: string): PathAnswer {
    const p = normalizePath(path);
    const entry = this.entries.get(p);
    if (entry) return { state: "present", entry: this.dirs.has(p) ? { ...entry, kind: "dir" } : entry };
    if (this.dirs.has(p)) return { state: "present", entry: { kind: "dir" } };
    const reasons = this.opaque.list
      .filter((o) => isUnder(p, o.prefix) || isUnder(o.prefix, p))
      .map((o) => o.reason);
    return reasons.length ? { state: "unknown", reasons: [...new Set(reasons)] } : { state: "absent" };
  }

  /** Whether `path` is known to be a directory. */
  isDir(path: string): boolean {
    return this.dirs.has(normalizePath(path));
  }

  /** Names known directly under `dir`. */
  children(dir: string): string[] {
    const d = normalizePath(dir);
    const names = new Set<string>();
    for (const k of [...this.entries.keys(), ...this.dirs]) {
      if (k !== d && posix.dirname(k) === d) names.add(posix.basename(k));
    }
    return [...names].sort();
  }

  /** Known entries strictly below `dir`, by path. */
  entriesUnder(dir: string): [string, FsEntry][] {
    const d = normalizePath(dir);
    return [...this.entries].filter(([k]) => k !== d && isUnder(k, d));
  }

  /** Every known path and opaque region (for tests and debugging). */
  snapshot(): { paths: string[]; opaque: OpaqueRegion[]; removals: OpaqueRegion[] } {
    const paths = new Set([...this.entries.keys(), ...this.dirs]);
    return { paths: [...paths].sort(), opaque: [...this.opaque.list], removals: [...this.removals.list] };
  }

  /**
   * Copies `from` of `src` to `to` here the way BuildKit's copy does for bldr (directory
   * contents, destination created; a file lands in `to`, or inside it when `to` is a directory
   * or ends with `/`). `label` rewrites the reasons carried over from `src`'s regions (e.g. adds
   * "via stage base"); it should return the same string for the same reason, so that reasons
   * carried along a chain of stages are hashed once (see `viaLabel`).
   */
  copyFrom(
    src: FsFacts,
    fromPath: string,
    toPath: string,
    label: (reason: string) => string = (r) => r,
  ): void {
    const from = normalizePath(fromPath);
    const to = normalizePath(toPath);
    const at = src.lookup(from);
    if (at.state === "present" && at.entry.kind === "file") {
      const target = toPath.endsWith("/") || this.isDir(to) ? posix.join(to, posix.basename(from)) : to;
      this.add(target, at.entry);
      return;
    }
    // Snapshots first: `src` may be this very filesystem (`cp -r /a /a/b`).
    const entries = [...src.entries];
    const dirs = [...src.dirs];
    const opaque = [...src.opaque.list];
    const removals = [...src.removals.list];
    if (at.state === "present" && at.entry.kind === "any" && !src.isDir(from)) {
      // A leaf of unknown kind (a build output): it lands at `to` whatever it is.
      this.add(to, at.entry);
    } else {
      if (to !== "/") this.add(to, { kind: "dir" });
      // What add() would do for each path, without walking each one's ancestors: `src` keeps every
      // ancestor of its paths in `dirs`, so those below `from` arrive by the second loop, and `to`
      // brought its own. (A copy of a whole stage's output is the common case, once per package
      // and dependency: the walk made the stage-graph lints quadratic in path depth.)
      for (const [k, e] of entries) {
        if (k === from || !isUnder(k, from)) continue;
        const p = rebase(k, from, to);
        this.entries.set(p, e);
        if (e.kind === "dir") this.dirs.add(p);
      }
      for (const d of dirs) {
        if (d === from || !isUnder(d, from)) continue;
        const p = rebase(d, from, to);
        this.entries.set(p, { kind: "dir" });
        this.dirs.add(p);
      }
    }
    for (const o of opaque) {
      if (isUnder(o.prefix, from)) this.addOpaque(rebase(o.prefix, from, to), label(o.reason));
      else if (isUnder(from, o.prefix)) this.addOpaque(to, label(o.reason));
    }
    for (const o of removals) {
      if (isUnder(o.prefix, from)) this.addRemoval(rebase(o.prefix, from, to), label(o.reason));
      else if (isUnder(from, o.prefix)) this.addRemoval(to, label(o.reason));
    }
  }
}
