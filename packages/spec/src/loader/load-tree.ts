/**
 * Loads a bldr tree the way bldr does: `Pkgfile` (plain YAML), then every `vars.yaml`, `pkg.yaml`
 * and `*.tmpl`, each rendered as a Go template *before* YAML parsing, with variables layered
 * built-ins < BUILD_ARG_* < Pkgfile vars < vars.yaml from the root down to the package's own dir.
 *
 * Unlike bldr, which stops at the first broken file, every file is loaded and every problem becomes
 * a diagnostic, so one run shows them all.
 */
import { realpath, stat } from "node:fs/promises";
import { posix, resolve } from "node:path";
import { type Diagnostic, diagnostic, isTalosExtError, sortDiagnostics, TalosExtError } from "../errors.ts";
import {
  decodePkg,
  decodePkgfile,
  decodeVars,
  type Pkg,
  type Pkgfile,
  type Platform,
} from "../schema/index.ts";
import { renderTemplate } from "../template/index.ts";
import { decodeUtf8Faithful } from "../utf8.ts";
import { type DecodedYaml, decodeYaml } from "../yaml/decode.ts";
import { compareBytes, type Entry, listDir, symlinkKind } from "./fs-walk.ts";
import { assertPlatform, buildArgVariables, builtinVariables } from "./platform.ts";
import { notRegularFile, readTreeFile } from "./read-file.ts";
import type { LoadedPackage, LoadedTree, LoadMode, LoadTreeOptions, TemplatedFile } from "./types.ts";

const PKGFILE = "Pkgfile";
const PKG_YAML = "pkg.yaml";
const VARS_YAML = "vars.yaml";
const TMPL = ".tmpl";

/** One pkg.yaml that was found; `pkg` is undefined when it failed to load. */
interface PkgAttempt {
  dir: string;
  pkg: LoadedPackage | undefined;
}

/** Never throws for bad tree content; throws `TalosExtError` only for an unusable root or platform. */
export async function loadTree(options: LoadTreeOptions): Promise<LoadedTree> {
  const platform = assertPlatform(options.platform ?? "linux/amd64");
  const mode: LoadMode = options.mode ?? "frontend";
  const root = resolve(options.root);
  const rootReal = await checkRoot(root);
  const loader = new TreeLoader(root, rootReal, platform, mode, {
    ...builtinVariables(platform),
    ...buildArgVariables(options.buildArgs),
  });
  return loader.load();
}

async function checkRoot(root: string): Promise<string> {
  let isDir: boolean;
  try {
    isDir = (await stat(root)).isDirectory();
  } catch (cause) {
    throw new TalosExtError({
      code: "LOAD_ROOT_NOT_FOUND",
      message: `tree root "${root}" does not exist or cannot be read`,
      hint: "pass the directory that holds the Pkgfile",
      cause,
    });
  }
  if (!isDir) {
    throw new TalosExtError({
      code: "LOAD_ROOT_NOT_DIR",
      message: `tree root "${root}" is not a directory`,
      hint: "pass the directory that holds the Pkgfile, not the Pkgfile itself",
    });
  }
  return realpath(root);
}

class TreeLoader {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly files: LoadedTree["files"] = { vars: [], pkgs: [], templates: [] };
  /** Variables contributed by each directory's own vars.yaml (only those that loaded). */
  private readonly varsByDir = new Map<string, Record<string, string>>();
  /** CLI mode: pkg.yaml attempts by directory, for attaching templates. */
  private attemptsByDir: Map<string, PkgAttempt> | undefined;
  /** Merged variables per directory (see contextFor). */
  private readonly contexts = new Map<string, Record<string, string>>();
  /** Directories whose vars.yaml is broken: nothing at or below them is loaded. */
  private readonly brokenDirs = new Set<string>();
  private readonly attempts: PkgAttempt[] = [];
  private pkgfile: Pkgfile | undefined;

  private readonly root: string;
  private readonly rootReal: string;
  private readonly platform: Platform;
  private readonly mode: LoadMode;
  /** Built-ins and build args: the layers below the Pkgfile vars. */
  private base: Record<string, string>;

  // Plain fields, not parameter properties: spec loads under Node's type stripping (the Nx plugin).
  constructor(
    root: string,
    rootReal: string,
    platform: Platform,
    mode: LoadMode,
    base: Record<string, string>,
  ) {
    this.root = root;
    this.rootReal = rootReal;
    this.platform = platform;
    this.mode = mode;
    this.base = base;
  }

  async load(): Promise<LoadedTree> {
    const hasPkgfile = await this.loadPkgfile();
    // A real build reads the Pkgfile first and fails without it; the CLI carries on.
    if (hasPkgfile || this.mode === "cli") {
      if (this.mode === "frontend") await this.walkFrontend("");
      else await this.walkCli();
    }
    const tree: LoadedTree = {
      root: this.root,
      platform: this.platform,
      packages: this.collectPackages(),
      diagnostics: sortDiagnostics(this.diagnostics),
      files: this.files,
    };
    if (this.pkgfile) tree.pkgfile = this.pkgfile;
    return tree;
  }

  // ---------------------------------------------------------------- Pkgfile

  private async loadPkgfile(): Promise<boolean> {
    const abs = resolve(this.root, PKGFILE);
    const entry = (await this.list("")).find((e) => e.name === PKGFILE);
    if (entry?.kind === "escape") {
      this.report(escapeDiagnostic(PKGFILE));
      return this.missingPkgfile();
    }
    if (entry && (entry.kind === "other" || entry.kind === "symlink-dir")) {
      this.report(notRegularFile(PKGFILE, entry.what ?? "not a regular file").toDiagnostic());
      return false;
    }
    if (entry?.kind !== "file") return this.missingPkgfile();
    this.files.pkgfile = PKGFILE;
    const text = await this.read(abs, PKGFILE);
    if (text === undefined) return false;
    // Not a template: `{{ }}` in Pkgfile vars stays literal.
    const doc = this.attempt(() => decodeYaml(text, { file: PKGFILE }));
    if (!doc) return true;
    const decoded = decodePkgfile(doc);
    this.diagnostics.push(...decoded.diagnostics);
    if (decoded.value) {
      this.pkgfile = decoded.value;
      this.base = { ...this.base, ...(decoded.value.vars ?? {}) };
    }
    return true;
  }

  private missingPkgfile(): boolean {
    if (this.mode === "frontend") {
      this.report(
        diagnostic("LOAD_PKGFILE_MISSING", "error", `error loading "${PKGFILE}": no such file`, {
          hint: "a bldr tree needs a Pkgfile (format: v1alpha2) at its root; pass that directory as the root",
          location: { file: PKGFILE },
        }),
      );
    } else {
      this.report(
        diagnostic("LOAD_PKGFILE_MISSING", "warning", `skipping "${PKGFILE}": no such file`, {
          hint: "bldr's CLI carries on without Pkgfile vars, but a real build fails; add a Pkgfile at the root",
          location: { file: PKGFILE },
        }),
      );
    }
    return false;
  }

  // ---------------------------------------------------------------- walks

  /**
   * BuildKit-frontend walk: depth-first from the root; in each directory vars.yaml, then pkg.yaml,
   * then every *.tmpl (attached to the package loaded last), then subdirectories in name order.
   * Dot-directories are walked; only the root `_out` is excluded.
   */
  private async walkFrontend(dir: string): Promise<void> {
    let entries = await this.list(dir);
    if (dir === "") entries = entries.filter((e) => e.name !== "_out");
    const vars = entries.find((e) => e.name === VARS_YAML);
    if (vars && this.unreadableVars(vars, dir)) return;
    if (vars && this.usable(vars, dir) && !(await this.loadVars(dir))) return;
    const pkgEntry = entries.find((e) => e.name === PKG_YAML);
    if (pkgEntry && this.usable(pkgEntry, dir)) await this.loadPkg(dir);
    for (const e of entries) {
      if (e.name.endsWith(TMPL) && this.usable(e, dir)) await this.attachFrontend(join(dir, e.name));
    }
    for (const e of entries) if (e.kind === "dir") await this.walkFrontend(join(dir, e.name));
  }

  /**
   * bldr CLI walk (`filepath.Walk`): dot-directories skipped, `_out` kept; all vars.yaml (parents
   * first), then all pkg.yaml, then all *.tmpl, each attached to its nearest package directory.
   */
  private async walkCli(): Promise<void> {
    const vars: string[] = [];
    const pkgs: string[] = [];
    const tmpls: string[] = [];
    const visit = async (dir: string): Promise<void> => {
      for (const e of await this.list(dir)) {
        if (e.kind === "dir") {
          if (!e.name.startsWith(".")) await visit(join(dir, e.name));
          continue;
        }
        if (e.name === VARS_YAML && this.unreadableVars(e, dir)) continue;
        if (e.name === VARS_YAML && this.usable(e, dir)) vars.push(dir);
        else if (e.name === PKG_YAML && this.usable(e, dir)) pkgs.push(dir);
        else if (e.name.endsWith(TMPL) && this.usable(e, dir)) tmpls.push(join(dir, e.name));
      }
    };
    await visit("");
    for (const dir of [...vars].sort(compareBytes)) {
      if (!this.underBroken(dir)) await this.loadVars(dir);
    }
    for (const dir of pkgs) if (!this.underBroken(dir)) await this.loadPkg(dir);
    for (const file of tmpls) if (!this.underBroken(dirOf(file))) await this.attachCli(file);
  }

  /**
   * Regular files (or in-root symlinks to them) are usable. Escaping symlinks, FIFOs, devices,
   * sockets, dangling symlinks and symlinks to directories are reported: bldr would fail to read
   * them (or block on a FIFO), so skipping them quietly would hide a package.
   */
  private usable(e: Entry, dir: string): boolean {
    if (e.kind === "escape") {
      this.report(escapeDiagnostic(join(dir, e.name)));
      return false;
    }
    if (e.kind === "other" || e.kind === "symlink-dir") {
      this.report(notRegularFile(join(dir, e.name), e.what ?? "not a regular file").toDiagnostic());
      return false;
    }
    return e.kind === "file";
  }

  /** A vars.yaml that is a FIFO, device, … is reported and breaks its subtree, like a broken one. */
  private unreadableVars(e: Entry, dir: string): boolean {
    if (e.kind !== "other" && e.kind !== "symlink-dir") return false;
    this.usable(e, dir);
    this.files.vars.push(join(dir, e.name));
    this.brokenDirs.add(dir);
    return true;
  }

  private underBroken(dir: string): boolean {
    for (const d of ancestors(dir)) if (this.brokenDirs.has(d)) return true;
    return false;
  }

  // ---------------------------------------------------------------- variables

  /**
   * Base layers plus the vars.yaml of every ancestor of `dir`, and of `dir` itself if `inclusive`.
   * Merged maps are cached per directory and shared (read-only) by everything below that adds no
   * vars.yaml of its own, so a huge root vars.yaml is copied once per vars.yaml, not per package.
   * A directory is cached only once its own vars.yaml has been loaded (both walks load a
   * directory's vars.yaml before anything at or below it asks).
   */
  private contextFor(dir: string, inclusive: boolean): Record<string, string> {
    if (!inclusive) return dir === "" ? this.base : this.contextFor(dirOf(dir), true);
    const hit = this.contexts.get(dir);
    if (hit) return hit;
    const parent = dir === "" ? this.base : this.contextFor(dirOf(dir), true);
    const own = this.varsByDir.get(dir);
    const ctx = own ? { ...parent, ...own } : parent;
    this.contexts.set(dir, ctx);
    return ctx;
  }

  /** Loads `<dir>/vars.yaml`; false when it is broken (its subtree is then skipped). */
  private async loadVars(dir: string): Promise<boolean> {
    const file = join(dir, VARS_YAML);
    this.files.vars.push(file);
    const broken = () => {
      this.brokenDirs.add(dir);
      return false;
    };
    const text = await this.read(this.abs(file), file);
    if (text === undefined) return broken();
    // A vars.yaml sees its ancestors' variables, never its own keys.
    const rendered = this.attempt(() => renderTemplate(text, this.contextFor(dir, false), { file }));
    if (!rendered) return broken();
    const doc = this.attempt(() => decodeYaml(rendered.output, { file, mapPosition: rendered.mapPosition }));
    if (!doc) return broken();
    const decoded = decodeVars(doc);
    this.diagnostics.push(...decoded.diagnostics);
    if (!decoded.value) return broken();
    this.varsByDir.set(dir, decoded.value);
    return true;
  }

  // ---------------------------------------------------------------- packages

  private async loadPkg(dir: string): Promise<void> {
    const file = join(dir, PKG_YAML);
    this.files.pkgs.push(file);
    const attempt: PkgAttempt = { dir, pkg: undefined };
    this.attempts.push(attempt);
    const text = await this.read(this.abs(file), file);
    if (text === undefined) return;
    const context = this.contextFor(dir, true);
    const rendered = this.attempt(() => renderTemplate(text, context, { file }));
    if (!rendered) return;
    const doc: DecodedYaml | undefined = this.attempt(() =>
      decodeYaml(rendered.output, { file, mapPosition: rendered.mapPosition }),
    );
    if (!doc) return;
    const decoded = decodePkg(doc);
    this.diagnostics.push(...decoded.diagnostics);
    const pkg: Pkg | undefined = decoded.value;
    if (!pkg) return;
    attempt.pkg = {
      name: pkg.name,
      dir,
      file,
      pkg,
      context,
      templatedFiles: [],
      doc,
      rendered: rendered.output,
    };
  }

  /** bldr keeps the first package of a name and rejects the next with both directories. */
  private collectPackages(): Map<string, LoadedPackage> {
    const packages = new Map<string, LoadedPackage>();
    for (const { pkg } of this.attempts) {
      if (!pkg) continue;
      const first = packages.get(pkg.name);
      if (!first) {
        packages.set(pkg.name, pkg);
        continue;
      }
      this.report(
        diagnostic(
          "LOAD_DUPLICATE_PACKAGE",
          "error",
          `package "${pkg.name}" already exists, duplicate in dirs "${this.baseDir(pkg.dir)}" and "${this.baseDir(first.dir)}"`,
          {
            hint: `package names must be unique in the tree; rename one (the other is in ${first.file})`,
            location: pkg.doc.locate(["name"]),
          },
        ),
      );
    }
    return packages;
  }

  /** The directory as bldr prints it: `/a/b` from the frontend, `a/b` (or `.`) from the CLI. */
  private baseDir(dir: string): string {
    if (this.mode === "frontend") return `/${dir}`;
    return dir === "" ? "." : dir;
  }

  // ---------------------------------------------------------------- templated files

  /** Frontend: the package loaded most recently in the walk owns the template, wherever it is. */
  private async attachFrontend(file: string): Promise<void> {
    this.files.templates.push(file);
    const last = this.attempts.at(-1);
    if (!last) {
      this.report(
        diagnostic(
          "LOAD_TEMPLATE_NO_PACKAGE",
          "error",
          `no package found to attach templated file "${file}"`,
          {
            hint: "a *.tmpl file must sit in (or below) a package directory, after its pkg.yaml in the walk",
            location: { file },
          },
        ),
      );
      return;
    }
    // Its owner failed to load and is already reported; rendering it would only add noise.
    if (!last.pkg) return;
    await this.attach(last.pkg, file);
  }

  /** CLI: the nearest ancestor directory holding a pkg.yaml owns the template. */
  private async attachCli(file: string): Promise<void> {
    this.files.templates.push(file);
    // Built once: every pkg.yaml is loaded before the first template in CLI mode.
    this.attemptsByDir ??= new Map(this.attempts.map((a) => [a.dir, a]));
    const dirs = this.attemptsByDir;
    const owner = [...ancestors(dirOf(file))].reverse().find((d) => dirs.has(d));
    if (owner === undefined) {
      this.report(
        diagnostic("LOAD_TEMPLATE_NO_PACKAGE", "error", "no suitable package found for template", {
          hint: "a *.tmpl file must sit in a package directory or below one",
          location: { file },
        }),
      );
      return;
    }
    const pkg = dirs.get(owner)?.pkg;
    if (pkg) await this.attach(pkg, file);
  }

  private async attach(pkg: LoadedPackage, file: string): Promise<void> {
    const text = await this.read(this.abs(file), file);
    if (text === undefined) return;
    const rel = posix.relative(pkg.dir, file);
    if (rel.startsWith("../")) {
      this.report(
        diagnostic(
          "LOAD_TEMPLATE_OUTSIDE_PACKAGE",
          "warning",
          `templated file "${file}" is attached to package "${pkg.name}" in "${pkg.dir || "."}" although it is not inside that directory`,
          {
            hint: "bldr's frontend attaches a *.tmpl to the package loaded last; move it into its package directory",
            location: { file },
          },
        ),
      );
    }
    const rendered = this.attempt(() => renderTemplate(text, pkg.context, { file }));
    if (!rendered) return;
    const templated: TemplatedFile = {
      source: file,
      path: rel.slice(0, -TMPL.length),
      content: rendered.output,
    };
    pkg.templatedFiles.push(templated);
  }

  // ---------------------------------------------------------------- helpers

  /** bldr's walkers log an unreadable directory and go on; we say so as a warning. */
  private async list(dir: string): Promise<Entry[]> {
    const entries = await listDir(this.rootReal, this.abs(dir));
    if (entries) return entries;
    this.report(
      diagnostic(
        "LOAD_READ_ERROR",
        "warning",
        `cannot read directory "${dir || "."}"; nothing below it is loaded`,
        {
          hint: "check the directory's permissions",
          location: { file: dir || "." },
        },
      ),
    );
    return [];
  }

  private abs(rel: string): string {
    return rel === "" ? this.root : resolve(this.root, rel);
  }

  /**
   * Reads a tree file: regular files only, size-capped, never hanging on a FIFO swapped in after
   * the walk. Invalid UTF-8 is kept (as escapes) so templates copy it through as Go does; the YAML
   * decoder rejects it with its position.
   */
  private async read(abs: string, file: string): Promise<string | undefined> {
    try {
      return decodeUtf8Faithful(await readTreeFile(abs, { file, rootReal: this.rootReal }));
    } catch (cause) {
      if (isTalosExtError(cause)) {
        this.diagnostics.push(...cause.diagnostics);
        return undefined;
      }
      // A symlink swapped after listing must still not lead out of the tree.
      if ((await symlinkKind(this.rootReal, abs)) === "escape") {
        this.report(escapeDiagnostic(file));
        return undefined;
      }
      this.report(
        diagnostic("LOAD_READ_ERROR", "error", `cannot read "${file}": ${(cause as Error).message}`, {
          hint: "check the file's permissions",
          location: { file },
        }),
      );
      return undefined;
    }
  }

  /** Runs one stage (render, parse); a TalosExtError becomes diagnostics, anything else is a bug. */
  private attempt<T>(run: () => T): T | undefined {
    try {
      return run();
    } catch (e) {
      if (!isTalosExtError(e)) throw e;
      this.diagnostics.push(...e.diagnostics);
      return undefined;
    }
  }

  private report(d: Diagnostic): void {
    this.diagnostics.push(d);
  }
}

function escapeDiagnostic(file: string): Diagnostic {
  return diagnostic("LOAD_SYMLINK_ESCAPE", "error", `"${file}" is a symlink that points outside the tree`, {
    hint: "a build only sees files inside the build context; copy the file into the tree instead of linking it",
    location: { file },
  });
}

/** The directory of a root-relative path, `""` for the root. */
function dirOf(file: string): string {
  const i = file.lastIndexOf("/");
  return i < 0 ? "" : file.slice(0, i);
}

function join(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

/** `""`, then each ancestor directory down to and including `dir`. */
function ancestors(dir: string): string[] {
  const out = [""];
  if (dir === "") return out;
  const parts = dir.split("/");
  for (let i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}
