import type { DownloadProgress } from "../net/index.ts";

/** One `sources[]` item of a pkg.yaml. */
export interface SourceSpec {
  /** Where to download from (already rendered). */
  url: string;
  /** File name in the step directory. */
  destination: string;
  /** Expected SHA-256 (hex). */
  sha256: string;
  /** Expected SHA-512 (hex). */
  sha512: string;
}

/** Progress of one source download: the download primitive's own report (URL without query). */
export type SourceProgress = DownloadProgress;

/** Where sources are cached and how they are downloaded. */
export interface SourceCacheOptions {
  /** Default: $TALOS_EXT_CACHE_DIR, else $XDG_CACHE_HOME/talos-ext/sources, else ~/.cache/talos-ext/sources. */
  cacheDir?: string;
  /** URL prefix rewrites; the first match is tried before the original URL (the fallback). */
  mirrors?: {
    /** A URL starting with this text is rewritten. */
    prefix: string;
    /** What replaces `prefix` in the rewritten URL. */
    replacement: string;
  }[];
  /** Use the cache only; never touch the network. */
  offline?: boolean;
  /** Extra attempts after a 5xx, 429, reset or timeout (default 3). 4xx is never retried. */
  retries?: number;
  /** Idle timeout: fail when no byte arrives for this long, connect included (default 30000). */
  timeoutMs?: number;
  /** First retry delay; doubles on each retry, with jitter (default 500). */
  retryDelayMs?: number;
  /**
   * Overall deadline of one download from one URL, every attempt and wait included (default
   * 3600000, one hour): a server that trickles a byte now and then never trips the idle timeout,
   * this ends it with SOURCE_DEADLINE.
   */
  deadlineMs?: number;
  /** Cancels the downloads; the signal's reason is thrown. */
  signal?: AbortSignal;
  /** Progress of each download: at its start, every 256 KiB, and once when verified. */
  onProgress?: (e: SourceProgress) => void;
  /**
   * Where HTTP_PROXY / HTTPS_PROXY / NO_PROXY (and lower-case forms) are read from; default
   * `process.env`. Pass `{}` to ignore any proxy.
   */
  proxyEnv?: Record<string, string | undefined>;
  /** Extra CA certificates (PEM) to trust besides the system ones; verification stays on. */
  ca?: string | string[];
  /** Parallel downloads in `fetchSources` (default 4). */
  concurrency?: number;
}

/** A source in the cache, verified against both its checksums. */
export interface FetchedSource {
  /** The verified file in the cache. */
  path: string;
  /** True when no download was needed. */
  fromCache: boolean;
  /** The URL the file came from: the mirror or original URL that was requested (before redirects). */
  url: string;
  /** The verified SHA-256 (hex), which is also its cache key. */
  sha256: string;
  /** The file name the pkg.yaml gives it in the step directory. */
  destination: string;
}
