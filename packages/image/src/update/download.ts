/**
 * Downloads a source to learn its checksums. `fetchSource` cannot do this: it only accepts a file
 * whose checksums it already knows. The HTTP side (redirects, https->http refusal, proxies, idle
 * timeout, `Accept: *\/*`) is the package's own `openUrl`; here we hash sha256 and sha512 while the
 * bytes stream by and, when asked, keep the file: it goes to a temp file inside the source cache and
 * is renamed to its content address, so the next build finds it without downloading.
 */
import { createHash, randomBytes } from "node:crypto";
import { type FileHandle, mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isTalosExtError, type TalosExtError } from "@talos-ext/spec";
import { cachePathFor } from "../sources/fetch.ts";
import { AttemptError, displayUrl, networkFailure, openUrl, type RequestOptions } from "../sources/http.ts";
import { updateError } from "./errors.ts";

export interface DigestDownloadOptions {
  /** Idle timeout, connect included (default 30000). */
  timeoutMs?: number;
  /** Extra attempts after a 5xx, 429, reset or timeout (default 2). A 4xx is never retried. */
  retries?: number;
  /** First retry delay, doubling each time (default 500). */
  retryDelayMs?: number;
  /** Where HTTP(S)_PROXY / NO_PROXY are read from; default `process.env`. */
  proxyEnv?: Record<string, string | undefined>;
  /** Extra CA certificates (PEM) besides the system ones. */
  ca?: string | string[];
  /** Source cache to store the file in (by its new sha256); undefined stores nothing. */
  cacheDir?: string | undefined;
}

export interface Digests {
  /** The URL as given (credentials removed). */
  url: string;
  sha256: string;
  sha512: string;
  size: number;
  /** Where the file now is in the source cache, when it was stored. */
  cachePath?: string;
  /** Why storing in the cache failed; the digests are still good. */
  cacheError?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 2;
const DEFAULT_RETRY_DELAY_MS = 500;

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
  const shown = displayUrl(start);
  const req: RequestOptions = {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    proxyEnv: options.proxyEnv ?? process.env,
    ca: typeof options.ca === "string" ? [options.ca] : options.ca,
  };
  const retries = options.retries ?? DEFAULT_RETRIES;
  const delay = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  for (let n = 0; ; n++) {
    try {
      return await attempt(start, shown, req, options.cacheDir);
    } catch (err) {
      if (err instanceof AttemptError) {
        if (err.retryable && n < retries) {
          await new Promise((r) => setTimeout(r, delay * 2 ** n));
          continue;
        }
        throw isTalosExtError(err.error) ? downloadFailed(shown, err.error) : err.error;
      }
      if (isTalosExtError(err)) throw downloadFailed(shown, err);
      throw err;
    }
  }
}

async function attempt(
  start: URL,
  shown: string,
  req: RequestOptions,
  cacheDir: string | undefined,
): Promise<Digests> {
  const { res, req: clientReq, timedOut } = await openUrl(start, req);
  const lengthHeader = res.headers["content-length"];
  const total = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  let tmp: string | undefined;
  let fh: FileHandle | undefined;
  let cacheError: string | undefined;
  if (cacheDir !== undefined) {
    try {
      await mkdir(join(cacheDir, "tmp"), { recursive: true });
      tmp = join(cacheDir, "tmp", `update.${process.pid}.${randomBytes(6).toString("hex")}.part`);
      fh = await open(tmp, "wx", 0o644);
    } catch (err) {
      cacheError = (err as Error).message;
      tmp = undefined;
    }
  }
  let kept = false;
  try {
    const h256 = createHash("sha256");
    const h512 = createHash("sha512");
    let size = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        h256.update(chunk);
        h512.update(chunk);
        size += chunk.length;
        if (fh) {
          try {
            await fh.write(chunk);
          } catch (err) {
            // A full or read-only cache must not stop the update: keep hashing, skip the cache.
            cacheError = (err as Error).message;
            await fh.close().catch(() => {});
            fh = undefined;
          }
        }
      }
    } catch (err) {
      clientReq.destroy();
      if (err instanceof AttemptError || isTalosExtError(err)) throw err;
      throw networkFailure(start, err, timedOut(), req.timeoutMs);
    }
    if (!res.complete || (total !== undefined && size !== total)) {
      throw new AttemptError(
        updateError(
          "UPDATE_DOWNLOAD_FAILED",
          `${shown}: connection closed after ${size}${total !== undefined ? ` of ${total}` : ""} bytes`,
          "the download was cut off; retry, or check the network",
        ),
        true,
      );
    }
    const digests: Digests = { url: shown, sha256: h256.digest("hex"), sha512: h512.digest("hex"), size };
    if (fh && tmp) {
      try {
        await fh.sync();
        await fh.close();
        fh = undefined;
        const final = cachePathFor(digests.sha256, { cacheDir });
        await mkdir(dirname(final), { recursive: true });
        await rename(tmp, final);
        kept = true;
        digests.cachePath = final;
      } catch (err) {
        cacheError = (err as Error).message;
      }
    }
    if (cacheError !== undefined) digests.cacheError = cacheError;
    return digests;
  } finally {
    await fh?.close().catch(() => {});
    if (tmp && !kept) await rm(tmp, { force: true });
  }
}
