/**
 * Downloads a source to learn its checksums. `fetchSource` cannot do this: it only accepts a file
 * whose checksums it already knows. The download is the package's one primitive (`../net`):
 * redirects, https->http refusal, proxies, timeouts, retries; here it computes sha256 and sha512
 * while the bytes stream by and, when asked, keeps the file: a temp file inside the source cache,
 * renamed to its content address, so the next build finds it without downloading.
 */
import { join } from "node:path";
import { isTalosExtError, type TalosExtError } from "@talos-ext/spec";
import { type DownloadProgress, download, FILE_DEADLINE_MS, transferOptions } from "../net/index.ts";
import { cachePathFor } from "../sources/fetch.ts";
import { showSourceUrl, sourceFault } from "../sources/http.ts";
import { updateError } from "./errors.ts";

/** Options of {@link downloadDigests}. */
export interface DigestDownloadOptions {
  /** Idle timeout, connect included (default 30000). */
  timeoutMs?: number;
  /** Extra attempts after a 5xx, 429, reset or timeout (default 2). A 4xx is never retried. */
  retries?: number;
  /** First retry delay, doubling each time, with jitter (default 500). */
  retryDelayMs?: number;
  /** Overall deadline of the download, every attempt included (default 3600000, one hour). */
  deadlineMs?: number;
  /** Cancels the download; its reason is thrown. */
  signal?: AbortSignal;
  /** Progress: at the start of each attempt, every 256 KiB, and at the end. */
  onProgress?: (e: DownloadProgress) => void;
  /** Where HTTP(S)_PROXY / NO_PROXY are read from; default `process.env`. */
  proxyEnv?: Record<string, string | undefined>;
  /** Extra CA certificates (PEM) besides the system ones. */
  ca?: string | string[];
  /** Source cache to store the file in (by its new sha256); undefined stores nothing. */
  cacheDir?: string | undefined;
}

/** What {@link downloadDigests} learnt of one URL: both digests and the size. */
export interface Digests {
  /** The URL as given (credentials removed). */
  url: string;
  /** Hex SHA-256 of the downloaded file. */
  sha256: string;
  /** Hex SHA-512 of the downloaded file. */
  sha512: string;
  /** Size in bytes of the downloaded file. */
  size: number;
  /** Where the file now is in the source cache, when it was stored. */
  cachePath?: string;
  /** Why storing in the cache failed; the digests are still good. */
  cacheError?: string;
}

/** `update` checks many URLs in a row: one retry fewer than a build's source download. */
const DEFAULT_RETRIES = 2;

function downloadFailed(url: string, inner: TalosExtError): TalosExtError {
  // The inner message usually starts with the URL already.
  const detail = inner.message.startsWith(`${url}: `) ? inner.message.slice(url.length + 2) : inner.message;
  return updateError(
    "UPDATE_DOWNLOAD_FAILED",
    `cannot download ${url}: ${detail}`,
    `${inner.hint ?? "check the URL"} (nothing was written)`,
    { cause: inner },
  );
}

/** Downloads `url` once (with retries) and returns its sha256, sha512 and size. */
export async function downloadDigests(url: string, options: DigestDownloadOptions = {}): Promise<Digests> {
  let start: URL;
  try {
    start = new URL(url);
  } catch {
    throw updateError(
      "UPDATE_BAD_URL",
      `${JSON.stringify(url)} is not a URL`,
      "fix the source url in the pkg.yaml",
    );
  }
  if (start.protocol !== "http:" && start.protocol !== "https:") {
    throw updateError("UPDATE_BAD_URL", `${url}: only http and https are supported`, "use an http(s) URL");
  }
  const shown = showSourceUrl(start);
  const { cacheDir } = options;
  try {
    const r = await download({
      url: start,
      errors: sourceFault,
      show: showSourceUrl,
      compute: ["sha256", "sha512"],
      // A full or read-only cache must not stop the update: the digests are what it needs.
      ...(cacheDir !== undefined
        ? {
            to: {
              file: (d) => cachePathFor(d.sha256!, { cacheDir }),
              tmpDir: join(cacheDir, "tmp"),
              optional: true,
            },
          }
        : {}),
      ...transferOptions(options, { retries: DEFAULT_RETRIES, deadlineMs: FILE_DEADLINE_MS }),
    });
    const digests: Digests = {
      url: shown,
      sha256: r.digests.sha256!,
      sha512: r.digests.sha512!,
      size: r.size,
    };
    if (r.path !== undefined) digests.cachePath = r.path;
    if (r.fileError !== undefined) digests.cacheError = r.fileError;
    return digests;
  } catch (err) {
    if (isTalosExtError(err)) throw downloadFailed(shown, err);
    throw err;
  }
}
