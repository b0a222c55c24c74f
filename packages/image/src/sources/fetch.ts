import { lstat, readdir, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { TalosExtError } from "@talos-ext/spec";
import { download, FILE_DEADLINE_MS, transferOptions } from "../net/index.ts";
import { CacheEntryNotFile, checkSha256, checkSpec, digestFile } from "./checksums.ts";
import { sourceError } from "./errors.ts";
import { showSourceUrl, sourceFault } from "./http.ts";
import type { FetchedSource, SourceCacheOptions, SourceSpec } from "./types.ts";

const DEFAULT_RETRIES = 3;
const DEFAULT_CONCURRENCY = 4;

/**
 * The source cache directory: $TALOS_EXT_CACHE_DIR, else $XDG_CACHE_HOME/talos-ext/sources, else
 * ~/.cache/talos-ext/sources.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TALOS_EXT_CACHE_DIR) return env.TALOS_EXT_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "talos-ext", "sources");
}

/** Where a file with this sha256 lives in the cache: `<cacheDir>/sha256/<hex>`. */
export function cachePathFor(sha256: string, options: Pick<SourceCacheOptions, "cacheDir"> = {}): string {
  return join(options.cacheDir ?? defaultCacheDir(), "sha256", checkSha256(sha256));
}

interface Job {
  url: URL;
  sha256: string;
  sha512: string;
  final: string;
  tmpDir: string;
}

/**
 * Downloads one candidate URL through the package's download primitive: into a temp file in
 * the cache while sha256 and sha512 are computed; only a file whose two digests match is
 * fsynced and renamed to its content address, so the cache never holds an unverified byte.
 */
async function downloadCandidate(job: Job, url: URL, options: SourceCacheOptions): Promise<void> {
  try {
    await download({
      url,
      errors: sourceFault,
      show: showSourceUrl,
      expect: { sha256: job.sha256, sha512: job.sha512 },
      to: { file: job.final, tmpDir: job.tmpDir },
      ...transferOptions(options, { retries: DEFAULT_RETRIES, deadlineMs: FILE_DEADLINE_MS }),
    });
  } catch (err) {
    if (err instanceof TalosExtError) throw err;
    // The cache itself failed (full disk, a file where a directory belongs, permissions).
    throw sourceError(
      "SOURCE_CACHE_UNUSABLE",
      `cannot write ${showSourceUrl(url)} into the source cache ${dirname(dirname(job.final))}: ${(err as Error).message}`,
      "Check that the cache directory is a writable directory with free space, or point TALOS_EXT_CACHE_DIR elsewhere.",
      { cause: err },
    );
  }
}

function candidates(url: URL, mirrors: SourceCacheOptions["mirrors"]): URL[] {
  const original = url.toString();
  const out: URL[] = [];
  for (const m of mirrors ?? []) {
    if (original.startsWith(m.prefix)) {
      try {
        out.push(new URL(m.replacement + original.slice(m.prefix.length)));
      } catch {
        throw sourceError(
          "SOURCE_BAD_MIRROR",
          `mirror ${JSON.stringify(m.prefix)} rewrites ${original} to an invalid URL`,
          "Fix the mirror's replacement.",
        );
      }
      break;
    }
  }
  if (!out.some((u) => u.toString() === original)) out.push(url);
  return out;
}

function kindOf(st: { isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean }): string {
  if (st.isDirectory()) return "a directory";
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isFIFO()) return "a FIFO";
  return "not a regular file";
}

function notFile(path: string, what: string): TalosExtError {
  return sourceError(
    "SOURCE_CACHE_NOT_FILE",
    `the source cache entry ${path} is ${what}, not a regular file`,
    `Remove ${path} (the cache holds only regular files named by their sha256); the next build downloads it again.`,
  );
}

/**
 * Is the cached file the pinned one? A bad file is removed, so it is never used again. Only a
 * regular file is read (lstat first, then opened with O_NOFOLLOW | O_NONBLOCK and checked
 * again): a FIFO, device, directory or symlink there is SOURCE_CACHE_NOT_FILE, never a hang.
 */
async function cachedOk(path: string, sha256: string, sha512: string): Promise<"ok" | "missing" | "corrupt"> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw notFile(path, `unreadable (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  if (!st.isFile()) throw notFile(path, kindOf(st));
  let d: Awaited<ReturnType<typeof digestFile>>;
  try {
    d = await digestFile(path);
  } catch (err) {
    if (err instanceof CacheEntryNotFile) throw notFile(path, err.what);
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw err;
  }
  if (d.sha256 === sha256 && d.sha512 === sha512) return "ok";
  await rm(path, { force: true });
  return "corrupt";
}

const inflight = new Map<string, Promise<FetchedSource>>();

/** A `.part` file this old belongs to a process that died mid-download. */
const STALE_PART_MS = 24 * 60 * 60 * 1000;
const swept = new Set<string>();

/** Once per process and cache: removes temp files that crashed downloads left behind. */
async function sweepStaleParts(tmpDir: string): Promise<void> {
  if (swept.has(tmpDir)) return;
  swept.add(tmpDir);
  let names: string[];
  try {
    names = await readdir(tmpDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.endsWith(".part")) continue;
    const path = join(tmpDir, name);
    try {
      if (Date.now() - (await stat(path)).mtimeMs > STALE_PART_MS) await rm(path, { force: true });
    } catch {
      // Another process finished or removed it.
    }
  }
}

async function fetchUncoalesced(src: SourceSpec, options: SourceCacheOptions): Promise<FetchedSource> {
  const { url, sha256, sha512 } = checkSpec(src);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const final = cachePathFor(sha256, { cacheDir });
  const state = await cachedOk(final, sha256, sha512);
  const base = { path: final, sha256, destination: src.destination };
  if (state === "ok") return { ...base, fromCache: true, url: showSourceUrl(url) };
  if (options.offline) {
    const what = `${showSourceUrl(url)} (sha256 ${sha256}, sha512 ${sha512})`;
    if (state === "corrupt") {
      throw sourceError(
        "SOURCE_CACHE_CORRUPT",
        `the cached copy of ${what} at ${final} did not match its checksums and was removed; offline mode cannot download it again`,
        `Place the correct file at ${final} (it is verified before use) or run without offline mode.`,
      );
    }
    throw sourceError(
      "SOURCE_OFFLINE_MISSING",
      `offline, and ${what} is not in the cache`,
      `Download it elsewhere and place it at ${final}; it is verified against both checksums before use.`,
    );
  }
  const job: Job = { url, sha256, sha512, final, tmpDir: join(cacheDir, "tmp") };
  await sweepStaleParts(job.tmpDir);
  const failures: { url: URL; error: TalosExtError }[] = [];
  for (const candidate of candidates(url, options.mirrors)) {
    try {
      await downloadCandidate(job, candidate, options);
      return { ...base, fromCache: false, url: showSourceUrl(candidate) };
    } catch (err) {
      if (!(err instanceof TalosExtError)) throw err;
      failures.push({ url: candidate, error: err as TalosExtError });
    }
  }
  const last = failures[failures.length - 1]!.error;
  if (failures.length === 1) throw last;
  const earlier = failures
    .slice(0, -1)
    .map((f) => `${f.error.code}: ${f.error.message}`)
    .join("; ");
  throw new TalosExtError({
    code: last.code,
    message: `${last.message} (tried first: ${earlier})`,
    hint: last.hint ?? "",
    cause: last,
    diagnostics: failures.map((f) => f.error.toDiagnostic()),
  });
}

/**
 * Returns the verified file for `src` from the cache, downloading it (mirrors first) when it is
 * missing or corrupt. Concurrent calls for the same file in this process share one download;
 * separate processes may both download, and both rename the same verified bytes into place.
 */
export function fetchSource(src: SourceSpec, options: SourceCacheOptions = {}): Promise<FetchedSource> {
  let key: string;
  try {
    const { sha256, sha512 } = checkSpec(src);
    key = `${options.cacheDir ?? defaultCacheDir()}\0${sha256}\0${sha512}\0${options.offline ? 1 : 0}`;
  } catch (err) {
    return Promise.reject(err);
  }
  const running = inflight.get(key);
  if (running) return running.then((r) => ({ ...r, destination: src.destination }));
  const p = fetchUncoalesced(src, options).finally(() => inflight.delete(key));
  inflight.set(key, p);
  return p;
}

/**
 * Fetches many sources, at most `concurrency` at a time, one download per distinct checksum.
 * Results are in input order. Every checksum is validated before the first request. If any
 * source fails, the others still finish and the first failure (in input order) is thrown,
 * with every failure listed in its diagnostics.
 */
export async function fetchSources(
  list: SourceSpec[],
  options: SourceCacheOptions = {},
): Promise<FetchedSource[]> {
  for (const src of list) checkSpec(src);
  const limit = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const results: (FetchedSource | undefined)[] = new Array(list.length);
  const errors: (TalosExtError | undefined)[] = new Array(list.length);
  const byKey = new Map<string, number[]>();
  list.forEach((src, i) => {
    const key = `${src.sha256.toLowerCase()}\0${src.sha512.toLowerCase()}`;
    const group = byKey.get(key);
    if (group) group.push(i);
    else byKey.set(key, [i]);
  });
  const groups = [...byKey.values()];
  let next = 0;
  const worker = async () => {
    while (next < groups.length) {
      const group = groups[next++]!;
      try {
        const r = await fetchSource(list[group[0]!]!, options);
        for (const i of group) results[i] = { ...r, destination: list[i]!.destination };
      } catch (err) {
        if (!(err instanceof TalosExtError)) throw err;
        for (const i of group) errors[i] = err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, groups.length) }, worker));
  const failed = errors.filter((e): e is TalosExtError => e !== undefined);
  if (failed.length > 0) {
    const first = failed[0]!;
    if (failed.length === 1) throw first;
    throw new TalosExtError({
      code: first.code,
      message: `${first.message} (and ${new Set(failed).size - 1} more failed source(s))`,
      hint: first.hint ?? "",
      cause: first,
      diagnostics: [...new Set(failed)].map((e) => e.toDiagnostic()),
    });
  }
  return results as FetchedSource[];
}
