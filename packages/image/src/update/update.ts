/**
 * `update`: refresh source checksums after a version bump, the way `bldr update <file> <VAR>` does.
 *
 * For each platform bldr knows, the tree is loaded twice: as it is, and with the value of VAR in
 * its defining file replaced by a marker. Every source whose rendered URL contains the marker uses
 * VAR; its URL (from the normal load) is downloaded and hashed, and the old checksum strings are
 * replaced by the new ones, as plain text, in the Pkgfile and every vars.yaml. pkg.yaml files are
 * never rewritten (as in bldr); a checksum written inline there is reported instead.
 *
 * How the marker gets in: the loader has no "override one variable" option, so the marker load
 * reads a temporary copy of the tree (only the files the loader reads: Pkgfile, vars.yaml, pkg.yaml,
 * *.tmpl) in which the value on VAR's line(s) in the defining file is textually replaced. Every
 * other file, and so every other layer of variables, is byte-for-byte the same as in the real tree.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import {
  type Diagnostic,
  diagnostic,
  type LoadedPackage,
  type LoadedTree,
  loadTree,
  PLATFORMS,
  type Platform,
  type SourceLocation,
  sortDiagnostics,
} from "@talos-ext/spec";
import { defaultCacheDir } from "../sources/fetch.ts";
import { variablesFromDiff } from "./diff.ts";
import { type DigestDownloadOptions, type Digests, downloadDigests } from "./download.ts";
import { updateError } from "./errors.ts";
import { type ChecksumReplacement, planRewrites, unifiedDiff, writeRewrites } from "./rewrite.ts";
import { findVarDefinitions, replaceValues, type VarDefinition, varsFileKind } from "./var-def.ts";

/** What an update reports as it goes: loading, downloads and their progress, writes. */
export type UpdateEvent =
  | {
      /**
       * The tree is loaded for a platform: as written, or again with a variable's value marked to
       * find the sources it reaches.
       */
      kind: "load";
      /** The platform loaded for. */
      platform: Platform;
      /** The variable being traced, on a reload; absent on the first load. */
      variable?: string;
    }
  | {
      /** A source download starts. */
      kind: "download";
      /** The source's URL. */
      url: string;
    }
  | {
      /** A source is downloaded and hashed. */
      kind: "downloaded";
      /** The source's URL. */
      url: string;
      /** Its size in bytes. */
      size: number;
    }
  | {
      /** Download progress: at each attempt's start, every 256 KiB, and at the end. */
      kind: "progress";
      /** The source's URL. */
      url: string;
      /** Bytes received so far. */
      bytes: number;
      /** The Content-Length, when the server sent one. */
      total?: number;
      /** Time since the download started, every attempt included, in ms. */
      elapsedMs: number;
    }
  | {
      /** A file of the tree is rewritten with the new values. */
      kind: "write";
      /** The file written, relative to the tree root. */
      file: string;
    };

/** Options both {@link updateChecksums} and {@link updateFromDiff} take. */
export interface UpdateCommonOptions {
  /** Tree root (the directory with the Pkgfile). */
  root: string;
  /** `--build-arg NAME=VALUE` pairs (templates see `BUILD_ARG_NAME`). */
  buildArgs?: Record<string, string>;
  /** Work out and report the changes, write nothing (not even the source cache). */
  dryRun?: boolean;
  /** Source cache the downloads are stored in; default: the build's cache. */
  cacheDir?: string;
  /** Store downloads in the source cache (default true; always off in a dry run). */
  cache?: boolean;
  /** Environment for the default cache dir and for HTTP(S)_PROXY / NO_PROXY; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Parallel downloads (default 4). */
  concurrency?: number;
  /** Timeouts, retries, proxy and CA of the downloads. */
  download?: Omit<DigestDownloadOptions, "cacheDir">;
  /** Progress as the update goes, for a CLI to print. */
  onEvent?: (e: UpdateEvent) => void;
}

/** Options of {@link updateChecksums}. */
export interface UpdateOptions extends UpdateCommonOptions {
  /**
   * The variable whose value changed (e.g. `VERSION`); every source whose URL uses it is downloaded again.
   */
  variable: string;
  /**
   * The Pkgfile or vars.yaml that defines the variable, relative to the root (or absolute, inside
   * it). Default: the one file of the tree that defines it.
   */
  file?: string;
}

/** Options of {@link updateFromDiff}: the variables to refresh are the ones the diff changes. */
export interface UpdateFromDiffOptions extends UpdateCommonOptions {
  /** A unified diff (`git diff -U0`) of the tree. */
  diff: string;
  /** Directory the diff's paths are relative to, tried after the root; default: the git work tree holding the root. */
  diffBase?: string;
}

/** A variable the update refreshed the sources of. */
export interface UpdatedVariable {
  /** The variable's name. */
  variable: string;
  /** The defining file, relative to the root. */
  file: string;
  /** Lines (1-based) where it is defined; several when an `{{ if }}` defines it per arch. */
  lines: number[];
  /** The value(s) as written there. */
  values: string[];
  /** How many distinct sources use it. */
  sources: number;
}

/** A source the update downloaded again. */
export interface UpdatedSource {
  /** The source's URL, rendered with the variable's new value. */
  url: string;
  /** Its file name in the step directory. */
  destination: string;
  /** Packages (and their pkg.yaml files) that download it. */
  packages: string[];
  /** The pkg.yaml files (relative to the root) that list it. */
  pkgFiles: string[];
  /** The platforms it is downloaded for (a URL can differ per arch). */
  platforms: Platform[];
  /** The variables that put it on the list. */
  variables: string[];
  /** The checksums as written before. */
  old: {
    /** The sha256 written before, lowercase hex. */
    sha256: string;
    /** The sha512 written before, lowercase hex. */
    sha512: string;
  };
  /** The checksums of the file now at the URL. */
  new: {
    /** The new file's sha256, lowercase hex. */
    sha256: string;
    /** The new file's sha512, lowercase hex. */
    sha512: string;
  };
  /** Size in bytes of the new file. */
  size: number;
  /** Where the file now is in the source cache. */
  cachePath?: string;
}

/** A checksum replacement with the files it was made in. */
export interface UpdateReplacement extends ChecksumReplacement {
  /** Files it was (or, in a dry run, would be) made in. */
  files: string[];
}

/** One file the update changed (or would change). */
export interface UpdatedFile {
  /** The file, relative to the root. */
  file: string;
  /** How many checksum values were replaced in it. */
  replacements: number;
  /** The change as a `-U0` unified diff. */
  diff: string;
}

/** What an update found and changed (or, in a dry run, would change). */
export interface UpdateResult {
  /** The tree root. */
  root: string;
  /** True when nothing was written. */
  dryRun: boolean;
  /** The variables whose sources were refreshed. */
  variables: UpdatedVariable[];
  /** Every source downloaded again, with its old and new checksums. */
  sources: UpdatedSource[];
  /** Every checksum swapped, with the files it was swapped in. */
  replacements: UpdateReplacement[];
  /** Files changed (or, in a dry run, that would change). */
  files: UpdatedFile[];
  /** Warnings (inline checksums, unused variables, cache problems) and notes. */
  diagnostics: Diagnostic[];
}

/** One source a variable reaches, on one platform, with what the normal load rendered for it. */
interface Hit {
  platform: Platform;
  variable: string;
  pkg: LoadedPackage;
  step: number;
  index: number;
  url: string;
  destination: string;
  sha256: string;
  sha512: string;
}

const DEFAULT_CONCURRENCY = 4;

/** Updates the checksums of every source whose URL uses `variable`. */
export async function updateChecksums(options: UpdateOptions): Promise<UpdateResult> {
  const session = await Session.open(options);
  await session.addVariable(options.variable, options.file, "single");
  return session.finish();
}

/** `git diff -U0 | update`: one update per `KEY: value` line added to a Pkgfile or vars.yaml. */
export async function updateFromDiff(options: UpdateFromDiffOptions): Promise<UpdateResult> {
  const session = await Session.open(options);
  const root = resolve(options.root);
  // bldr reads diff paths relative to its root; git writes them relative to the work tree's top,
  // which differs when the tree is a subdirectory of the repository. Try both, root first.
  const bases = [root, options.diffBase ?? (await gitTop(root))].filter((b): b is string => b !== undefined);
  for (const v of variablesFromDiff(options.diff)) {
    const file = bases
      .map((b) => toPosix(relative(root, resolve(b, v.file))))
      .find((f) => session.definingFiles.includes(f));
    if (file === undefined) {
      session.note(
        diagnostic(
          "UPDATE_DIFF_SKIPPED",
          "info",
          `${v.key} in ${v.file}: not a Pkgfile or vars.yaml of this tree`,
          {
            hint: "diff paths are read relative to --root, then to the git work tree that holds it",
          },
        ),
      );
      continue;
    }
    await session.addVariable(v.key, file, "diff");
  }
  return session.finish();
}

/** The nearest ancestor of `dir` (itself included) that holds `.git`. */
async function gitTop(dir: string): Promise<string | undefined> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      await stat(join(d, ".git"));
      return d;
    } catch {
      // keep going up
    }
    if (dirname(d) === d) return undefined;
  }
}

class Session {
  readonly definingFiles: string[];
  private readonly hits: Hit[] = [];
  private readonly variables: UpdatedVariable[] = [];
  private readonly diagnostics: Diagnostic[] = [];
  private readonly downloads = new Map<string, Promise<Digests>>();

  private readonly options: UpdateCommonOptions;
  private readonly root: string;
  private readonly normal: Map<Platform, LoadedTree>;
  /** Every file the loader reads, relative to the root (union over platforms). */
  private readonly treeFiles: string[];

  private constructor(
    options: UpdateCommonOptions,
    root: string,
    normal: Map<Platform, LoadedTree>,
    treeFiles: string[],
  ) {
    this.options = options;
    this.root = root;
    this.normal = normal;
    this.treeFiles = treeFiles;
    const first = [...normal.values()][0]!;
    this.definingFiles = [...(first.files.pkgfile ? [first.files.pkgfile] : []), ...first.files.vars];
  }

  static async open(options: UpdateCommonOptions): Promise<Session> {
    const root = resolve(options.root);
    const normal = new Map<Platform, LoadedTree>();
    for (const platform of PLATFORMS) {
      options.onEvent?.({ kind: "load", platform });
      const tree = await loadTree({ root, platform, buildArgs: options.buildArgs ?? {}, mode: "cli" });
      const errors = tree.diagnostics.filter((d) => d.severity === "error");
      if (errors.length > 0) {
        throw updateError(
          "UPDATE_LOAD_FAILED",
          `the tree does not load for ${platform} (${errors.length} error(s)); first: ${errors[0]!.message}`,
          "fix the tree first (`talos-ext lint` shows every problem); update needs it to render",
          { diagnostics: errors, ...(errors[0]!.file ? { location: locationOf(errors[0]!) } : {}) },
        );
      }
      normal.set(platform, tree);
    }
    const files = new Set<string>();
    for (const t of normal.values()) {
      for (const f of [t.files.pkgfile, ...t.files.vars, ...t.files.pkgs, ...t.files.templates]) {
        if (f !== undefined) files.add(f);
      }
    }
    return new Session(options, root, normal, [...files]);
  }

  note(d: Diagnostic): void {
    this.diagnostics.push(d);
  }

  /** Finds the defining file, runs the marker loads and downloads what the variable reaches. */
  async addVariable(variable: string, file: string | undefined, mode: "single" | "diff"): Promise<void> {
    let defs: VarDefinition[];
    try {
      defs = await this.definitions(variable, file);
    } catch (err) {
      // In a diff, added lines that are not variables (Pkgfile labels, say) are simply not ours.
      if (mode === "diff" && (err as { code?: string }).code === "UPDATE_VAR_NOT_FOUND") return;
      throw err;
    }
    const defFile = defs[0]!.file;
    const hits = await this.markerHits(variable, defFile, defs);
    this.variables.push({
      variable,
      file: defFile,
      lines: defs.map((d) => d.line),
      values: defs.map((d) => d.raw),
      sources: new Set(hits.map((h) => h.url)).size,
    });
    if (hits.length === 0) {
      this.diagnostics.push(
        diagnostic(
          "UPDATE_NO_SOURCES",
          mode === "single" ? "warning" : "info",
          `no source URL uses ${variable} (defined in ${defFile}); nothing to update`,
          {
            hint: "update follows variables into sources[].url; checksums of files the URL does not depend on stay as they are",
            location: { file: defFile, line: defs[0]!.line, column: defs[0]!.column },
          },
        ),
      );
      return;
    }
    this.hits.push(...hits);
    await this.fetchAll(hits.map((h) => h.url));
  }

  /** The definition lines of `variable` in `file`, or in the one file that defines it. */
  private async definitions(variable: string, file: string | undefined): Promise<VarDefinition[]> {
    if (file !== undefined) {
      const rel = this.relativeFile(file);
      const kind = varsFileKind(rel);
      if (!kind || !this.definingFiles.includes(rel)) {
        throw updateError(
          "UPDATE_BAD_FILE",
          `${rel} is not the Pkgfile or a vars.yaml of the tree at ${this.root}`,
          this.definingFiles.length
            ? `variables are defined in: ${this.definingFiles.join(", ")} (paths relative to the root)`
            : "this tree has no Pkgfile and no vars.yaml",
          { location: { file: rel } },
        );
      }
      const defs = findVarDefinitions(await this.read(rel), kind, variable, rel);
      if (defs.length === 0) {
        throw updateError(
          "UPDATE_VAR_NOT_FOUND",
          `${variable} is not defined in ${rel}`,
          kind === "pkgfile"
            ? `add it under vars: in the Pkgfile, or pass the vars.yaml that defines it`
            : "check the name (it is case-sensitive) or pass the file that defines it",
          { location: { file: rel } },
        );
      }
      return defs;
    }
    const found: VarDefinition[][] = [];
    for (const rel of this.definingFiles) {
      const defs = findVarDefinitions(await this.read(rel), varsFileKind(rel)!, variable, rel);
      if (defs.length > 0) found.push(defs);
    }
    if (found.length === 0) {
      throw updateError(
        "UPDATE_VAR_NOT_FOUND",
        `${variable} is not defined in the Pkgfile or any vars.yaml of ${this.root}`,
        this.definingFiles.length
          ? `looked in: ${this.definingFiles.join(", ")}; check the name (it is case-sensitive)`
          : "this tree has no Pkgfile and no vars.yaml",
      );
    }
    if (found.length > 1) {
      const where = found.map((d) => `${d[0]!.file}:${d[0]!.line}`);
      throw updateError(
        "UPDATE_VAR_AMBIGUOUS",
        `${variable} is defined in ${found.length} files: ${where.join(", ")}`,
        `pass --file with the one you bumped: ${found.map((d) => d[0]!.file).join(" or ")}`,
        { location: { file: found[0]![0]!.file, line: found[0]![0]!.line, column: found[0]![0]!.column } },
      );
    }
    return found[0]!;
  }

  /** Loads a marked copy of the tree for every platform; returns the sources whose URL shows the marker. */
  private async markerHits(variable: string, defFile: string, defs: VarDefinition[]): Promise<Hit[]> {
    const marker = `talosextupdate${randomBytes(8).toString("hex")}`;
    const copy = await mkdtemp(join(tmpdir(), "talos-ext-update-"));
    const hits: Hit[] = [];
    try {
      for (const rel of this.treeFiles) {
        let text = await this.read(rel);
        if (rel === defFile) text = replaceValues(text, defs, marker);
        const abs = join(copy, ...rel.split("/"));
        await mkdir(dirname(abs), { recursive: true });
        await writeFile(abs, text);
      }
      for (const [platform, normal] of this.normal) {
        this.options.onEvent?.({ kind: "load", platform, variable });
        const marked = await loadTree({
          root: copy,
          platform,
          buildArgs: this.options.buildArgs ?? {},
          mode: "cli",
        });
        const errors = marked.diagnostics.filter((d) => d.severity === "error");
        if (errors.length > 0) {
          throw updateError(
            "UPDATE_MARKER_LOAD_FAILED",
            `with ${variable} replaced by a placeholder the tree does not render for ${platform}: ${errors[0]!.message}`,
            `${variable} is used where only a real value works (a semver or number function, say), so update cannot tell which sources use it; update those checksums by hand`,
            { diagnostics: errors, ...(errors[0]!.file ? { location: locationOf(errors[0]!) } : {}) },
          );
        }
        hits.push(...this.compare(variable, platform, normal, marked, marker));
      }
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
    return hits;
  }

  /** Pairs sources of the marked and normal loads by pkg.yaml file, step and position. */
  private compare(
    variable: string,
    platform: Platform,
    normal: LoadedTree,
    marked: LoadedTree,
    marker: string,
  ): Hit[] {
    const byFile = new Map([...normal.packages.values()].map((p) => [p.file, p]));
    const hits: Hit[] = [];
    for (const m of marked.packages.values()) {
      m.pkg.steps.forEach((step, i) => {
        step.sources.forEach((src, j) => {
          // Templates may change the case of a value (`upper`); the marker is letters and digits only.
          if (!src.url.toLowerCase().includes(marker)) return;
          const n = byFile.get(m.file);
          const ns = n?.pkg.steps[i]?.sources[j];
          if (!n || !ns) {
            this.diagnostics.push(
              diagnostic(
                "UPDATE_SOURCE_UNMATCHED",
                "warning",
                `${m.file}: sources[${j}] of step ${i} uses ${variable} but has no counterpart in the normal load on ${platform}`,
                {
                  hint: `${variable} also changes which sources exist; check this source's checksums by hand`,
                  location: m.doc.locate(["steps", i, "sources", j, "url"]),
                },
              ),
            );
            return;
          }
          hits.push({
            platform,
            variable,
            pkg: n,
            step: i,
            index: j,
            url: ns.url,
            destination: ns.destination,
            sha256: ns.sha256,
            sha512: ns.sha512,
          });
        });
      });
    }
    return hits;
  }

  private fetchAll(urls: string[]): Promise<unknown> {
    const store = !this.options.dryRun && this.options.cache !== false;
    const env = this.options.env ?? process.env;
    const cacheDir = store ? (this.options.cacheDir ?? defaultCacheDir(env)) : undefined;
    const todo = [...new Set(urls)].filter((u) => !this.downloads.has(u));
    const limit = Math.max(1, this.options.concurrency ?? DEFAULT_CONCURRENCY);
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const url = todo[next++]!;
        this.options.onEvent?.({ kind: "download", url });
        const onEvent = this.options.onEvent;
        const p = downloadDigests(url, {
          proxyEnv: env,
          ...(onEvent
            ? {
                onProgress: ({ bytes, total, elapsedMs }) =>
                  onEvent({
                    kind: "progress",
                    url,
                    bytes,
                    ...(total !== undefined ? { total } : {}),
                    elapsedMs,
                  }),
              }
            : {}),
          ...this.options.download,
          cacheDir,
        });
        this.downloads.set(url, p);
        try {
          const d = await p;
          this.options.onEvent?.({ kind: "downloaded", url, size: d.size });
        } catch {
          // Reported in input order by finish(); the other downloads go on.
        }
      }
    };
    return Promise.all(Array.from({ length: Math.min(limit, todo.length) }, worker));
  }

  /** Downloads are in; works out the replacements, checks them, and writes (unless a dry run). */
  async finish(): Promise<UpdateResult> {
    const digests = new Map<string, Digests>();
    for (const [url, p] of this.downloads) digests.set(url, await p);

    const sources = this.collectSources(digests);
    const pairs = this.pairs(sources);
    const { rewrites, found } = await planRewrites(this.root, this.definingFiles, pairs);
    await this.reportInline(digests, found, pairs);
    for (const s of sources) {
      const d = digests.get(s.url)!;
      if (d.cacheError !== undefined) {
        this.diagnostics.push(
          diagnostic(
            "UPDATE_CACHE_WRITE_FAILED",
            "warning",
            `${s.url} was not stored in the source cache: ${d.cacheError}`,
            {
              hint: "the checksums are right; the next build downloads the file again",
            },
          ),
        );
      }
    }
    if (!this.options.dryRun && rewrites.length > 0) {
      for (const rw of rewrites) this.options.onEvent?.({ kind: "write", file: rw.file });
      await writeRewrites(rewrites);
    }
    return {
      root: this.root,
      dryRun: this.options.dryRun === true,
      variables: this.variables,
      sources,
      replacements: pairs.map((p) => ({
        ...p,
        files: rewrites.filter((rw) => rw.counts[p.old]).map((rw) => rw.file),
      })),
      files: rewrites.map((rw) => ({
        file: rw.file,
        replacements: Object.values(rw.counts).reduce((a, b) => a + b, 0),
        diff: unifiedDiff(rw),
      })),
      diagnostics: sortDiagnostics(dedupe(this.diagnostics)),
    };
  }

  /** One entry per distinct (url, old checksums), merging platforms, packages and variables. */
  private collectSources(digests: Map<string, Digests>): UpdatedSource[] {
    const byKey = new Map<string, UpdatedSource>();
    for (const h of this.hits) {
      const key = `${h.url}\0${h.sha256}\0${h.sha512}`;
      let s = byKey.get(key);
      if (!s) {
        const d = digests.get(h.url)!;
        s = {
          url: d.url,
          destination: h.destination,
          packages: [],
          pkgFiles: [],
          platforms: [],
          variables: [],
          old: { sha256: h.sha256, sha512: h.sha512 },
          new: { sha256: d.sha256, sha512: d.sha512 },
          size: d.size,
          ...(d.cachePath ? { cachePath: d.cachePath } : {}),
        };
        byKey.set(key, s);
      }
      addOnce(s.packages, h.pkg.name);
      addOnce(s.pkgFiles, h.pkg.file);
      addOnce(s.platforms, h.platform);
      addOnce(s.variables, h.variable);
    }
    return [...byKey.values()];
  }

  /** old -> new checksum pairs. One old string that must become two different values is refused. */
  private pairs(sources: UpdatedSource[]): ChecksumReplacement[] {
    const byOld = new Map<string, { pair: ChecksumReplacement; url: string }>();
    for (const s of sources) {
      for (const algorithm of ["sha256", "sha512"] as const) {
        const old = s.old[algorithm];
        const now = s.new[algorithm];
        if (old.toLowerCase() === now) continue;
        const seen = byOld.get(old);
        if (seen && seen.pair.new !== now) {
          throw updateError(
            "UPDATE_CHECKSUM_CONFLICT",
            `the ${algorithm} ${old} is used by ${seen.url} and ${s.url}, which now have different checksums`,
            "text substitution cannot tell them apart: give each source its own checksum variable (or distinct placeholders) and run again; nothing was written",
          );
        }
        if (!seen) byOld.set(old, { pair: { algorithm, old, new: now }, url: s.url });
      }
    }
    return [...byOld.values()].map((v) => v.pair);
  }

  /**
   * A checksum that changes but is written in the pkg.yaml itself (or is found in no Pkgfile or
   * vars.yaml at all) is left stale, since pkg.yaml files are not rewritten: say so, with the new value.
   */
  private async reportInline(
    digests: Map<string, Digests>,
    found: Set<string>,
    pairs: ChecksumReplacement[],
  ): Promise<void> {
    const changing = new Set(pairs.map((p) => p.old));
    const texts = new Map<string, string>();
    const seen = new Set<string>();
    for (const h of this.hits) {
      if (!texts.has(h.pkg.file)) texts.set(h.pkg.file, await this.read(h.pkg.file));
      for (const algorithm of ["sha256", "sha512"] as const) {
        const old = h[algorithm];
        if (!changing.has(old)) continue;
        if (found.has(old) && !texts.get(h.pkg.file)!.includes(old)) continue;
        const location = h.pkg.doc.locate(["steps", h.step, "sources", h.index, algorithm]);
        const key = `${location.file}:${location.line}:${algorithm}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const now = digests.get(h.url)![algorithm];
        this.diagnostics.push(
          diagnostic(
            "UPDATE_INLINE_CHECKSUM",
            "warning",
            `${h.pkg.name}: the ${algorithm} of ${h.destination} is written in ${h.pkg.file}, which update does not rewrite; new ${algorithm}: ${now}`,
            {
              hint: `replace it by hand, or move it into a vars.yaml variable so update keeps it current`,
              location,
            },
          ),
        );
      }
    }
  }

  private relativeFile(file: string): string {
    const abs = isAbsolute(file) ? file : resolve(this.root, file);
    const rel = relative(this.root, abs);
    if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) {
      throw updateError(
        "UPDATE_BAD_FILE",
        `${file} is not inside the tree at ${this.root}`,
        "pass a path inside --root",
        {
          location: { file },
        },
      );
    }
    return toPosix(rel);
  }

  private async read(rel: string): Promise<string> {
    try {
      return await readFile(join(this.root, ...rel.split("/")), "utf8");
    } catch (cause) {
      throw updateError(
        "UPDATE_READ_FAILED",
        `cannot read ${rel}: ${(cause as Error).message}`,
        "check the file",
        {
          location: { file: rel },
          cause,
        },
      );
    }
  }
}

function addOnce<T>(list: T[], value: T): void {
  if (!list.includes(value)) list.push(value);
}

function toPosix(p: string): string {
  return p.split(sep).join("/").replace(/^\.\//, "");
}

function locationOf(d: Diagnostic): SourceLocation {
  return {
    file: d.file!,
    ...(d.line !== undefined ? { line: d.line } : {}),
    ...(d.column !== undefined ? { column: d.column } : {}),
  };
}

function dedupe(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const key = JSON.stringify([d.code, d.file, d.line, d.column, d.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
