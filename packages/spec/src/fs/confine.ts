/**
 * The one confinement primitive: every write into a work tree or an output (templates, context
 * copies, stage/image/finalize merges, tar extraction) goes through a `ConfinedRoot`.
 *
 * Paths are resolved one component at a time below the root, with `lstat` on each component
 * right before it is used, the way `openat2(RESOLVE_IN_ROOT)` resolves them: `..` stops at the
 * root and an absolute symlink target restarts at the root, so a symlink is read as the
 * container that owns the tree would read it and never as the host would. The last component
 * is never followed when something is created there: an existing symlink is replaced, and files
 * are opened with `O_CREAT | O_EXCL | O_NOFOLLOW`, so a link swapped in at the last moment makes
 * the write fail instead of following it.
 *
 * Node has no `openat`, so the check of an intermediate directory and its use are two system
 * calls; the window between them only matters if another process changes the tree while we
 * write it, which nothing in a build does (steps run in the engine, not on these directories).
 */
import type { Stats } from "node:fs";
import { constants } from "node:fs";
import {
  chmod,
  copyFile,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  unlink,
} from "node:fs/promises";
import { posix } from "node:path";
import { TalosExtError } from "../errors.ts";

/**
 * How symlinks met on the way to a path are treated.
 * - `"in-root"`: followed as the tree's own container would (absolute targets restart at the
 *   root, `..` stops at it). For container filesystems: rootfs merges, extraction.
 * - `"refuse"`: any symlink in a directory position, and any `..` above the root, is an
 *   `FS_PATH_ESCAPE` error. For host-side trees that are not a container's view, such as a build
 *   context, where following a link could only mean going somewhere else.
 */
export type SymlinkPolicy = "in-root" | "refuse";

/** The codes a `ConfinedRoot` throws (callers may map them onto their own, one code per fault). */
export type ConfineErrorCode =
  | "FS_PATH_ESCAPE"
  | "FS_PATH_CONFLICT"
  | "FS_NOT_FOUND"
  | "FS_SYMLINK_LOOP"
  | "FS_RACE"
  | "FS_ROOT_INVALID";

/** Every code of {@link ConfineErrorCode}, for mappers and documentation tests. */
export const CONFINE_ERROR_CODES: readonly ConfineErrorCode[] = [
  "FS_PATH_ESCAPE",
  "FS_PATH_CONFLICT",
  "FS_NOT_FOUND",
  "FS_SYMLINK_LOOP",
  "FS_RACE",
  "FS_ROOT_INVALID",
];

/** Options of a {@link ConfinedRoot}. */
export interface ConfineOptions {
  /** Who brings what is written (a package name); errors name it, and symlinks remember it. */
  owner?: string;
  /** How symlinks on the way are treated; default `"in-root"`. */
  symlinks?: SymlinkPolicy;
  /**
   * Merge semantics, as when a later layer is applied over an earlier one: a non-directory
   * standing where a directory is needed is replaced by one (a symlink is followed only when it
   * resolves, inside the root, to an existing directory), and a directory standing where a file
   * or symlink goes is removed. Default `false`: such clashes are `FS_PATH_CONFLICT` errors.
   */
  replace?: boolean;
  /** Symlinks followed while resolving one path before `FS_SYMLINK_LOOP`; default 40 (Linux's limit). */
  maxLinks?: number;
}

/** Options of {@link ConfinedRoot.resolve} and {@link ConfinedRoot.lstat}. */
export interface ResolveOptions {
  /** Follow a symlink at the last component too (as a copy's source path does); default `true` for `resolve`. */
  followLast?: boolean;
}

/** Options of the calls that create a file or directory. */
export interface CreateOptions {
  /** Permission bits (the umask does not apply; they are set explicitly). Files default to 0o644, directories to 0o755. */
  mode?: number;
}

/** What {@link ConfinedRoot.writeFile} writes: a whole buffer or string, or a stream of chunks. */
export type FileData = string | Uint8Array | AsyncIterable<Uint8Array>;

/** Options of {@link ConfinedRoot.copyFrom}. */
export interface CopyOptions {
  /**
   * Skip an entry of the source tree (its path relative to the source, `/`-separated); a skipped
   * directory is not descended into.
   */
  skip?: (relPath: string, stats: Stats) => boolean;
}

/** The result of walking a path: real directories from the root, and the last component if not descended into. */
interface Walk {
  stack: string[];
  name?: string;
  st?: Stats;
  /** Some component on the way does not exist (or is not a directory); only without `create`. */
  missing: boolean;
}

interface WalkOptions {
  create: boolean;
  followLast: boolean;
  /** Start below these (already checked) directories instead of the root. */
  start?: string[];
  budget?: { hops: number };
  /** The path as the caller gave it, for messages. */
  display: string;
}

const O_NOFOLLOW = constants.O_NOFOLLOW;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW;

function split(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

function inRoot(stack: readonly string[], name?: string): string {
  return `/${(name === undefined ? stack : [...stack, name]).join("/")}`;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * A directory that writes cannot leave. Every method takes a path inside the root (absolute or
 * relative, both mean the same) and resolves it component by component.
 *
 * @example
 * const rootfs = new ConfinedRoot("/tmp/work/rootfs", { owner: "my-ext", replace: true });
 * await rootfs.writeFile("/usr/local/etc/my.conf", "key=1\n", { mode: 0o644 });
 * await rootfs.copyFrom("/tmp/work/stage-out", "/");
 */
export class ConfinedRoot {
  /** The host directory everything stays inside. */
  readonly root: string;
  /** The options this view writes with. */
  readonly options: Readonly<ConfineOptions>;
  // Who created each symlink (in-root path -> owner), shared by views of the same root, so an
  // error about a link can name the package that brought it.
  private readonly linkOwners: Map<string, string>;

  /** @param root an existing directory (checked on first use). */
  constructor(root: string, options: ConfineOptions = {}, linkOwners?: Map<string, string>) {
    this.root = posix.resolve(root);
    this.options = { ...options };
    this.linkOwners = linkOwners ?? new Map();
  }

  /** A view of the same root with other options (the symlink provenance is shared). */
  with(options: ConfineOptions): ConfinedRoot {
    return new ConfinedRoot(this.root, { ...this.options, ...options }, this.linkOwners);
  }

  /** A view of the same root whose writes are attributed to `owner`. */
  withOwner(owner: string): ConfinedRoot {
    return this.with({ owner });
  }

  /** The package (owner) that created the symlink at an in-root path through this root, if known. */
  linkOwner(path: string): string | undefined {
    return this.linkOwners.get(inRoot(split(path)));
  }

  /**
   * The host path of `path`, resolved inside the root; `undefined` when it does not exist.
   * The returned path contains no symlink below the root (except the last component when
   * `followLast` is false), so a caller may read it directly.
   */
  async resolve(path: string, options: ResolveOptions = {}): Promise<string | undefined> {
    await this.checkRoot();
    const w = await this.walk(path, { create: false, followLast: options.followLast ?? true, display: path });
    if (w.missing) return undefined;
    if (w.name === undefined) return this.host(w.stack);
    return w.st ? this.host(w.stack, w.name) : undefined;
  }

  /** `lstat` of `path` resolved inside the root (the last component is not followed unless asked). */
  async lstat(path: string, options: ResolveOptions = {}): Promise<Stats | undefined> {
    await this.checkRoot();
    const w = await this.walk(path, {
      create: false,
      followLast: options.followLast ?? false,
      display: path,
    });
    if (w.missing) return undefined;
    if (w.name === undefined) return lstat(this.host(w.stack));
    return w.st;
  }

  /**
   * `mkdir -p` inside the root; returns the host path of the directory. `mode` applies to the
   * last directory when it is created here (parents get 0o755 less the umask).
   */
  async mkdir(path: string, options: CreateOptions = {}): Promise<string> {
    await this.checkRoot();
    return this.host((await this.mkdirWalk(path, options.mode)).stack);
  }

  /**
   * Writes a regular file, creating missing parents. An existing file or symlink at the path is
   * replaced (never written through); an existing directory is a conflict unless `replace`.
   */
  async writeFile(path: string, data: FileData, options: CreateOptions = {}): Promise<void> {
    await this.checkRoot();
    const mode = options.mode ?? 0o644;
    const { host } = await this.prepareLeaf(path);
    const fh = await this.createExclusive(host, mode, path);
    try {
      if (typeof data === "string" || data instanceof Uint8Array) await fh.writeFile(data);
      else for await (const chunk of data) await fh.write(chunk);
      await fh.chmod(mode);
    } finally {
      await fh.close();
    }
  }

  /** Creates a symlink (its target is stored as given; it is only ever read inside the root). */
  async symlink(path: string, target: string): Promise<void> {
    await this.checkRoot();
    const { host, at } = await this.prepareLeaf(path);
    try {
      await symlink(target, host);
    } catch (e) {
      if (errno(e) === "EEXIST") throw this.race(path, e);
      throw e;
    }
    if (this.options.owner !== undefined) this.linkOwners.set(at, this.options.owner);
    else this.linkOwners.delete(at);
  }

  /** Creates a hard link at `path` to `existing` (both inside the root; a symlink is linked itself, not followed). */
  async link(path: string, existing: string): Promise<void> {
    await this.checkRoot();
    const src = await this.walk(existing, { create: false, followLast: false, display: existing });
    if (src.missing || src.name === undefined || !src.st) {
      throw this.error(
        src.missing || !src.st ? "FS_NOT_FOUND" : "FS_PATH_CONFLICT",
        `hard link "${path}" points at "${existing}", which ${src.missing || !src.st ? "does not exist" : "is a directory"}`,
        "a hard link must name a file that comes before it",
      );
    }
    if (src.st.isDirectory()) {
      throw this.error(
        "FS_PATH_CONFLICT",
        `hard link "${path}" points at the directory "${existing}"`,
        "hard links to directories are not allowed",
      );
    }
    const from = this.host(src.stack, src.name);
    // Linking a path to itself (or to a file it already is) must not clear the only copy first.
    const dest = await this.walk(path, { create: false, followLast: false, display: path });
    if (!dest.missing && dest.st && dest.st.ino === src.st.ino && dest.st.dev === src.st.dev) return;
    const { host } = await this.prepareLeaf(path);
    // Making room for the link can replace its own target (`c/a` -> `c` turns the file `c`
    // into a directory): the source must still be the file that was resolved.
    const still = await lstat(from).catch(() => undefined);
    // (A freed inode number is reused at once, so the kind is compared too.)
    if (!still || still.isDirectory() || still.ino !== src.st.ino || still.dev !== src.st.dev) {
      throw this.error(
        "FS_PATH_CONFLICT",
        `hard link "${path}" replaces its own target "${existing}"`,
        "a hard link cannot live inside the file it links to",
      );
    }
    try {
      await link(from, host);
    } catch (e) {
      if (errno(e) === "EEXIST") throw this.race(path, e);
      throw e;
    }
  }

  /** Sets permission bits; a symlink at the path is left alone (Linux has no lchmod). */
  async chmod(path: string, mode: number): Promise<void> {
    await this.checkRoot();
    const w = await this.walk(path, { create: false, followLast: false, display: path });
    if (w.missing || (w.name !== undefined && !w.st)) {
      throw this.error("FS_NOT_FOUND", `"${path}" does not exist`, "create it before changing its mode");
    }
    if (w.st?.isSymbolicLink()) return;
    const host = w.name === undefined ? this.host(w.stack) : this.host(w.stack, w.name);
    await chmodNoFollow(host, mode & 0o7777);
  }

  /** Removes the path (recursively for a directory) without following any symlink; absent is fine. */
  async remove(path: string): Promise<void> {
    await this.checkRoot();
    const w = await this.walk(path, { create: false, followLast: false, display: path });
    if (w.missing || !w.st) return;
    if (w.name === undefined) {
      throw this.error(
        "FS_PATH_CONFLICT",
        `refusing to remove the root itself ("${path}")`,
        "remove its entries",
      );
    }
    await rm(this.host(w.stack, w.name), { recursive: true, force: true });
  }

  /**
   * Copies a host file or directory tree into the root at `dest`, as a container `COPY` does: a
   * directory's contents are merged into `dest` (created), a file copied onto an existing
   * directory goes inside it, symlinks in the source are copied as symlinks (never followed),
   * modes are kept, devices, FIFOs and sockets are skipped. Every write is confined.
   * `src` is a host path trusted to be ours (a work directory); a symlink at `src` itself is
   * followed (as a copy's source path is), and nothing below it is read through a link.
   */
  async copyFrom(src: string, dest: string, options: CopyOptions = {}): Promise<void> {
    await this.checkRoot();
    const st = await stat(src);
    if (st.isDirectory()) {
      const w = await this.mkdirWalk(dest);
      await this.copyChildren(src, "", w.stack, options);
      return;
    }
    const existing = await this.lstat(dest, { followLast: true });
    if (existing?.isDirectory()) {
      const w = await this.mkdirWalk(dest);
      await this.copyEntry(src, posix.basename(src), st, w.stack, posix.basename(src), options);
      return;
    }
    const parts = split(dest);
    const name = parts.pop();
    if (name === undefined || name === "..") {
      const w = await this.mkdirWalk(dest);
      await this.copyEntry(src, posix.basename(src), st, w.stack, posix.basename(src), options);
      return;
    }
    const parent = await this.mkdirWalk(parts.join("/"));
    await this.copyEntry(src, name, st, parent.stack, name, options);
  }

  // --- internals -------------------------------------------------------------------------

  private host(stack: readonly string[], name?: string): string {
    return name === undefined ? posix.join(this.root, ...stack) : posix.join(this.root, ...stack, name);
  }

  private rootChecked = false;

  private async checkRoot(): Promise<void> {
    if (this.rootChecked) return;
    const st = await lstatOrUndefined(this.root);
    if (!st?.isDirectory()) {
      throw this.error(
        "FS_ROOT_INVALID",
        `the root "${this.root}" is ${st ? "not a directory" : "missing"}`,
        "create the directory first",
      );
    }
    this.rootChecked = true;
  }

  private who(): string {
    return this.options.owner === undefined ? "" : `package "${this.options.owner}": `;
  }

  private error(code: ConfineErrorCode, message: string, hint: string, cause?: unknown): TalosExtError {
    return new TalosExtError({
      code,
      message: `${this.who()}${message}`,
      hint,
      ...(cause === undefined ? {} : { cause }),
    });
  }

  private race(path: string, cause: unknown): TalosExtError {
    return this.error(
      "FS_RACE",
      `"${path}" changed while it was being written (something else writes into ${this.root})`,
      "make sure nothing else writes into the work directory while building",
      cause,
    );
  }

  private linkText(at: string, target: string): string {
    const by = this.linkOwners.get(at);
    return `symlink "${at}" -> "${target}"${by === undefined ? "" : ` (brought by package "${by}")`}`;
  }

  /** Walks to `path`'s directory, creating missing parents; returns the leaf's host path, with any clash removed. */
  private async prepareLeaf(path: string): Promise<{ host: string; at: string }> {
    const w = await this.walk(path, { create: true, followLast: false, display: path });
    if (w.name === undefined) {
      throw this.error(
        "FS_PATH_CONFLICT",
        `"${path}" names a directory, not a file`,
        "give the file's own path",
      );
    }
    const host = this.host(w.stack, w.name);
    if (w.st) await this.clear(host, w.st, path);
    return { host, at: inRoot(w.stack, w.name) };
  }

  /** Removes what stands where a file, symlink or hard link is about to be created. */
  private async clear(host: string, st: Stats, display: string): Promise<void> {
    if (st.isDirectory()) {
      if (!this.options.replace) {
        throw this.error(
          "FS_PATH_CONFLICT",
          `"${display}" is a directory; a file cannot replace it here`,
          "remove the directory first, or write the file somewhere else",
        );
      }
      await rm(host, { recursive: true, force: true });
      return;
    }
    // A file or a symlink is replaced, never written through.
    await unlink(host).catch((e: unknown) => {
      if (errno(e) !== "ENOENT") throw e;
    });
  }

  private async createExclusive(host: string, mode: number, display: string) {
    try {
      return await open(host, CREATE_FLAGS, mode & 0o7777);
    } catch (e) {
      if (errno(e) === "EEXIST" || errno(e) === "ELOOP") throw this.race(display, e);
      throw e;
    }
  }

  private async mkdirWalk(path: string, mode?: number, start?: string[]): Promise<Walk> {
    const w = await this.walk(path, {
      create: true,
      followLast: true,
      display: path,
      ...(start ? { start } : {}),
    });
    if (w.name === undefined) return w;
    const host = this.host(w.stack, w.name);
    if (w.st) {
      // The last component exists and is not a directory (a symlink was already dealt with).
      if (!this.options.replace) throw this.notDir(inRoot(w.stack, w.name), path);
      await rm(host, { recursive: true, force: true });
    }
    await this.mkdirOne(host, mode, path);
    return { stack: [...w.stack, w.name], missing: false };
  }

  private async mkdirOne(host: string, mode: number | undefined, display: string): Promise<void> {
    try {
      await mkdir(host, { mode: mode ?? 0o755 });
    } catch (e) {
      if (errno(e) === "EEXIST") {
        const st = await lstatOrUndefined(host);
        if (st?.isDirectory()) return;
        throw this.race(display, e);
      }
      throw e;
    }
    if (mode !== undefined) await chmod(host, mode & 0o7777);
  }

  private notDir(at: string, display: string): TalosExtError {
    return this.error(
      "FS_PATH_CONFLICT",
      `"${display}" needs "${at}" to be a directory, but it is a file`,
      "a file and a directory clash at this path; rename one of them",
    );
  }

  /**
   * The core: resolves `path` one component at a time. Directories are descended into,
   * symlinks resolved inside the root (or refused), missing directories created when asked.
   */
  private async walk(path: string, o: WalkOptions): Promise<Walk> {
    const queue = split(path);
    const stack = [...(o.start ?? [])];
    const budget = o.budget ?? { hops: 0 };
    const maxLinks = this.options.maxLinks ?? 40;
    const refuse = this.options.symlinks === "refuse";
    let missing = false;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === "..") {
        if (stack.length > 0) stack.pop();
        else if (refuse) {
          throw this.error(
            "FS_PATH_ESCAPE",
            `"${o.display}" climbs above the root with ".."`,
            "write paths inside the tree, without '..'",
          );
        }
        continue;
      }
      const last = queue.length === 0;
      if (missing) {
        if (last) return { stack, name: part, missing };
        stack.push(part);
        continue;
      }
      const host = this.host(stack, part);
      const st = await lstatOrUndefined(host);
      if (last && !o.followLast)
        return st ? { stack, name: part, st, missing } : { stack, name: part, missing };
      if (!st) {
        if (last) return { stack, name: part, missing };
        if (!o.create) {
          missing = true;
          stack.push(part);
          continue;
        }
        await this.mkdirOne(host, undefined, o.display);
        stack.push(part);
        continue;
      }
      if (st.isDirectory()) {
        stack.push(part);
        continue;
      }
      if (st.isSymbolicLink()) {
        const target = await readlink(host);
        const at = inRoot(stack, part);
        if (refuse) {
          throw this.error(
            "FS_PATH_ESCAPE",
            `"${o.display}" goes through the ${this.linkText(at, target)}; writes here never follow a symlink`,
            "replace the symlink by a real directory, or write to the path it points at",
          );
        }
        if (++budget.hops > maxLinks) {
          throw this.error(
            "FS_SYMLINK_LOOP",
            `too many levels of symbolic links resolving "${o.display}" (at the ${this.linkText(at, target)})`,
            "break the symlink loop",
          );
        }
        const base = target.startsWith("/") ? [] : [...stack];
        if (o.create && this.options.replace) {
          // A merge: follow the link only to an existing directory inside the root; otherwise
          // the later layer's directory replaces it.
          const probe = await this.walk(target, {
            create: false,
            followLast: true,
            start: base,
            budget,
            display: o.display,
          });
          if (!probe.missing && probe.name === undefined) {
            stack.splice(0, stack.length, ...probe.stack);
            continue;
          }
          await unlink(host);
          this.linkOwners.delete(at);
          await this.mkdirOne(host, undefined, o.display);
          stack.push(part);
          continue;
        }
        stack.splice(0, stack.length, ...base);
        queue.unshift(...split(target));
        continue;
      }
      // A file or a special file.
      if (last) return { stack, name: part, st, missing };
      if (!o.create) {
        missing = true;
        stack.push(part);
        continue;
      }
      if (!this.options.replace) throw this.notDir(inRoot(stack, part), o.display);
      await rm(host, { force: true });
      await this.mkdirOne(host, undefined, o.display);
      stack.push(part);
    }
    return { stack, missing };
  }

  private async copyChildren(
    srcDir: string,
    rel: string,
    stack: string[],
    options: CopyOptions,
  ): Promise<void> {
    const names = (await readdir(srcDir)).sort();
    for (const name of names) {
      const src = posix.join(srcDir, name);
      const st = await lstat(src);
      const childRel = rel ? `${rel}/${name}` : name;
      if (options.skip?.(childRel, st)) continue;
      await this.copyEntry(src, name, st, stack, childRel, options);
    }
  }

  private async copyEntry(
    src: string,
    name: string,
    st: Stats,
    stack: string[],
    rel: string,
    options: CopyOptions,
  ): Promise<void> {
    const display = inRoot(stack, name);
    if (st.isDirectory()) {
      const w = await this.mkdirWalk(name, undefined, stack);
      await this.copyChildren(src, rel, w.stack, options);
      return;
    }
    if (!st.isFile() && !st.isSymbolicLink()) return; // devices, FIFOs, sockets: never copied
    const host = this.host(stack, name);
    const existing = await lstatOrUndefined(host);
    if (existing) await this.clear(host, existing, display);
    if (st.isSymbolicLink()) {
      try {
        await symlink(await readlink(src), host);
      } catch (e) {
        if (errno(e) === "EEXIST") throw this.race(display, e);
        throw e;
      }
      if (this.options.owner !== undefined) this.linkOwners.set(display, this.options.owner);
      else this.linkOwners.delete(display);
      return;
    }
    try {
      // EXCL: the destination is created, never opened through a symlink swapped in.
      await copyFile(src, host, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    } catch (e) {
      if (errno(e) === "EEXIST") throw this.race(display, e);
      throw e;
    }
    await chmodNoFollow(host, st.mode & 0o7777);
  }
}

/** chmod that never follows a symlink at the path (opened with O_NOFOLLOW, then fchmod). */
async function chmodNoFollow(host: string, mode: number): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(host, constants.O_RDONLY | O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = errno(e);
    if (code === "ELOOP") return; // a symlink: nothing to do
    if (code !== "EACCES" && code !== "EPERM" && code !== "ENXIO") throw e;
    // Unreadable to us (mode 0o000 and not root): check it is no link, then chmod by path.
    const st = await lstat(host);
    if (st.isSymbolicLink()) return;
    await chmod(host, mode);
    return;
  }
  try {
    await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}
