/**
 * The package's one download primitive: open (a plain URL through `openUrl`, or the caller's own
 * opener such as an authenticated registry blob GET), stream through `ChecksumStream`, write to a
 * file atomically (temp + fsync + rename) or to the caller's sink, report progress, retry with
 * backoff and jitter, and stop at an overall deadline. Sources, `update` and the registry
 * client's blob downloads all go through `download()`.
 */
import { randomBytes } from "node:crypto";
import { type FileHandle, mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Transform, type TransformCallback, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isTalosExtError } from "@talos-ext/spec";
import { syncDir } from "../oci/fsutil.ts";
import { type ChecksumAlgorithm, ChecksumStream, type Checksums } from "./checksum.ts";
import { type DownloadErrorMap, displayUrl, socketFault } from "./faults.ts";
import { type OpenedBody, openUrl, raise } from "./get.ts";
import { RetryableError, withRetries } from "./retry.ts";

/** One progress report of a download. */
export interface DownloadProgress {
  /**
   * The URL asked for (for an `open` download, the URL opened), without credentials or query
   * whatever `show` keeps: progress goes to logs, and a signed URL's token must not.
   */
  url: string;
  /** Bytes received in this attempt. */
  bytes: number;
  /** Expected size (given, or Content-Length), when known. */
  total?: number;
  /** 0 for the first attempt. */
  attempt: number;
  /** Since the download started (all attempts). */
  elapsedMs: number;
  /** The last report of a successful download. */
  done: boolean;
}

/** Where the bytes go. */
export type DownloadTarget =
  /** A file, written to a temp file and renamed into place only after every checksum matched. */
  | {
      /** The file's path, or a function of the computed digests that gives it (a content-addressed cache). */
      file: string | ((digests: Checksums) => string);
      /**
       * Where the temp file is written. Default: the file's directory, so the rename stays on one
       * filesystem; a computed `file` needs it, as its directory is known only at the end.
       */
      tmpDir?: string;
      /**
       * A failing write (full or read-only disk) does not fail the download: it is reported in
       * `fileError` and the digests are still returned.
       */
      optional?: boolean;
    }
  | {
      /** A writable made afresh for every attempt (e.g. a file stream the caller renames). */
      sink: () => NodeJS.WritableStream;
    };

/** Options of `download()`. */
export interface DownloadOptions {
  /** A plain http(s) URL (GET with redirects, proxy, TLS). Either `url` or `open`. */
  url?: URL | string;
  /** The caller's opener (auth, its own transport); called once per attempt. */
  open?: (signal: AbortSignal) => Promise<OpenedBody>;
  /** Maps faults to the caller's coded errors (required: codes belong to the caller's domain). */
  errors: DownloadErrorMap;
  /** Digests (hex) the body must have. */
  expect?: Checksums;
  /** Digests to compute and return without verifying. */
  compute?: readonly ChecksumAlgorithm[];
  /** Exact size the body must have. */
  size?: number;
  /** Refuse bodies larger than this. */
  maxBytes?: number;
  /** Where the bytes go; none: they are only hashed. */
  to?: DownloadTarget;
  /** Extra attempts after a retryable failure (default 3). */
  retries?: number;
  /** First backoff step in ms, doubling with jitter (default 500). */
  retryDelayMs?: number;
  /** Called before each retry. */
  onRetry?: (attempt: number, reason: string, delayMs: number) => void;
  /** Idle timeout per request, connect included (default 30000; plain URLs only). */
  timeoutMs?: number;
  /** Overall deadline for the whole download, every attempt and wait included. Default none. */
  deadlineMs?: number;
  /** Cancels the download (its reason is thrown). */
  signal?: AbortSignal;
  /** Where HTTP(S)_PROXY / NO_PROXY are read from (default `process.env`; plain URLs only). */
  proxyEnv?: Record<string, string | undefined>;
  /** Extra CA certificates (PEM) besides the system ones (plain URLs only). */
  ca?: string | string[];
  /** Extra request headers (plain URLs only). */
  headers?: Record<string, string>;
  /** Sent to the start URL's origin only, never after a redirect to another origin. */
  credentialHeaders?: Record<string, string>;
  /** Redirects to follow (default 10; plain URLs only). */
  maxRedirects?: number;
  /** Progress reports: at the start of each attempt, every `progressStep` bytes, and at the end. */
  onProgress?: (e: DownloadProgress) => void;
  /** Bytes between progress reports (default 256 KiB). */
  progressStep?: number;
  /** How the URL is shown in faults and progress (default: no user info, no query). */
  show?: (url: URL) => string;
}

/** What `download()` returns. */
export interface DownloadResult {
  /** The start URL (display form). */
  url: string;
  /** Where the bytes finally came from, after redirects (display form). */
  finalUrl: string;
  /** Bytes received (and, for a file target, written). */
  size: number;
  /** Every expected and computed digest (hex). */
  digests: Checksums;
  /** The file written, for a file target. */
  path?: string;
  /** Why an optional file target was not written. */
  fileError?: string;
  /** Attempts made (1 when the first succeeded). */
  attempts: number;
}

const DEFAULT_RETRIES = 3;
const DEFAULT_RETRY_DELAY_MS = 500;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_PROGRESS_STEP = 256 * 1024;

/** The transfer settings a caller passes through from its own options to `download()`. */
export type TransferOptions = Pick<
  DownloadOptions,
  "retries" | "retryDelayMs" | "timeoutMs" | "deadlineMs" | "signal" | "proxyEnv" | "ca" | "onProgress"
>;

/** A deadline for downloads of whole files a user asked for: one hour, every attempt included. */
export const FILE_DEADLINE_MS = 60 * 60 * 1000;

/**
 * The transfer settings of a caller's options, with the caller's own defaults for retries and
 * the deadline; what is unset keeps `download()`'s defaults.
 */
export function transferOptions(
  options: TransferOptions,
  defaults: { retries: number; deadlineMs: number },
): TransferOptions {
  const out: TransferOptions = {
    retries: options.retries ?? defaults.retries,
    deadlineMs: options.deadlineMs ?? defaults.deadlineMs,
  };
  for (const key of ["retryDelayMs", "timeoutMs", "signal", "proxyEnv", "ca", "onProgress"] as const) {
    if (options[key] !== undefined) Object.assign(out, { [key]: options[key] });
  }
  return out;
}

/** A writable over a file handle; with `optional`, a failed write is remembered, not thrown. */
class FileSink extends Writable {
  failure: Error | undefined;
  private readonly fh: FileHandle;
  private readonly optional: boolean;
  constructor(fh: FileHandle, optional: boolean) {
    super();
    this.fh = fh;
    this.optional = optional;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    if (this.failure) {
      done();
      return;
    }
    this.fh.write(chunk).then(
      () => done(),
      (e: Error) => {
        if (!this.optional) return done(e);
        this.failure = e;
        done();
      },
    );
  }
}

/** Downloads once (with retries) and returns size and digests; see `DownloadOptions`. */
export async function download(options: DownloadOptions): Promise<DownloadResult> {
  if (!options.url === !options.open) throw new TypeError("download(): pass exactly one of url and open");
  const start = options.url !== undefined ? new URL(String(options.url)) : undefined;
  const show = options.show ?? ((u: URL) => displayUrl(u));
  const shownStart = start ? show(start) : "";
  const began = Date.now();
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  let bytesNow = 0;
  let urlNow = shownStart;
  const timer =
    options.deadlineMs !== undefined
      ? setTimeout(() => {
          controller.abort(
            options.errors({
              kind: "deadline",
              url: urlNow,
              deadlineMs: options.deadlineMs!,
              bytes: bytesNow,
            }),
          );
        }, options.deadlineMs)
      : undefined;
  timer?.unref?.();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const opener =
    options.open ??
    ((s: AbortSignal) =>
      openUrl(start!, {
        timeoutMs,
        proxyEnv: options.proxyEnv ?? process.env,
        ca: typeof options.ca === "string" ? [options.ca] : options.ca,
        headers: options.headers,
        credentialHeaders: options.credentialHeaders,
        maxRedirects: options.maxRedirects,
        signal: s,
        errors: options.errors,
        show,
      }));
  try {
    return await withRetries(
      {
        retries: Math.max(0, options.retries ?? DEFAULT_RETRIES),
        baseDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
        signal,
        onRetry: options.onRetry,
      },
      async (attempt) => {
        bytesNow = 0;
        const opened = await opener(signal);
        urlNow = show(opened.url);
        return await attemptBody(opened, attempt, signal, (b) => {
          bytesNow = b;
        });
      },
    );
  } catch (e) {
    // The deadline (or the caller's cancel) wins over whatever the abort made fail.
    if (signal.aborted && (isTalosExtError(signal.reason) || signal.reason instanceof Error))
      throw signal.reason;
    throw e;
  } finally {
    if (timer) clearTimeout(timer);
  }

  async function attemptBody(
    opened: OpenedBody,
    attempt: number,
    abortSignal: AbortSignal,
    seen: (bytes: number) => void,
  ): Promise<DownloadResult> {
    const shown = show(opened.url);
    const onAbort = () => {
      opened.abort();
      opened.body.destroy(abortSignal.reason as Error);
    };
    abortSignal.addEventListener("abort", onAbort, { once: true });
    const lengthHeader = opened.headers["content-length"];
    const contentLength =
      typeof lengthHeader === "string" && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    const total = options.size ?? contentLength;
    const check = new ChecksumStream({
      expect: options.expect,
      compute: options.compute,
      size: options.size,
      maxBytes: options.maxBytes,
      url: shown,
      errors: options.errors,
    });
    const step = options.progressStep ?? DEFAULT_PROGRESS_STEP;
    let bytes = 0;
    let reported = 0;
    const progressUrl = displayUrl(start ?? opened.url);
    const report = (done: boolean) =>
      options.onProgress?.({
        url: progressUrl,
        bytes,
        ...(total !== undefined ? { total } : {}),
        attempt,
        elapsedMs: Date.now() - began,
        done,
      });
    const counter = new Transform({
      transform(chunk: Buffer, _e, done: TransformCallback) {
        bytes += chunk.length;
        seen(bytes);
        if (bytes - reported >= step) {
          reported = bytes;
          report(false);
        }
        done(null, chunk);
      },
    });
    let bodyError: unknown;
    opened.body.once("error", (e) => {
      bodyError ??= e;
    });

    // The target is created only now that an answer is here: a failed request leaves nothing.
    const to = options.to;
    let tmp: string | undefined;
    let fh: FileHandle | undefined;
    let fileError: string | undefined;
    let sink: NodeJS.WritableStream;
    if (to && "file" in to) {
      const dir = to.tmpDir ?? (typeof to.file === "string" ? dirname(to.file) : undefined);
      if (dir === undefined) throw new TypeError("download(): a computed file path needs tmpDir");
      try {
        await mkdir(dir, { recursive: true });
        tmp = join(dir, `dl.${process.pid}.${randomBytes(6).toString("hex")}.part`);
        fh = await open(tmp, "wx", 0o644);
      } catch (e) {
        tmp = undefined;
        if (!to.optional) {
          opened.abort();
          abortSignal.removeEventListener("abort", onAbort);
          throw e;
        }
        fileError = (e as Error).message;
      }
      sink = fh ? new FileSink(fh, to.optional === true) : nullSink();
    } else if (to && "sink" in to) {
      sink = to.sink();
    } else {
      sink = nullSink();
    }

    let kept = false;
    try {
      report(false);
      try {
        await pipeline(opened.body, check, counter, sink);
      } catch (e) {
        opened.abort();
        if (abortSignal.aborted) throw abortSignal.reason;
        if (isTalosExtError(e) || e instanceof RetryableError) throw e;
        // A body that failed or closed early is the connection's fault (worth a retry); a
        // failing sink (full disk, closed stream) is not.
        if (bodyError !== undefined || isPrematureClose(e)) {
          raise(socketFault(shown, bodyError ?? e, opened.timedOut(), timeoutMs), options.errors);
        }
        throw e;
      }
      if (!opened.body.complete || (contentLength !== undefined && bytes !== contentLength)) {
        raise({ kind: "truncated", url: shown, bytes, total: contentLength }, options.errors);
      }
      const result: DownloadResult = {
        url: shownStart || shown,
        finalUrl: shown,
        size: bytes,
        digests: check.digests,
        attempts: attempt + 1,
      };
      if (to && "file" in to) {
        const failure = (sink as FileSink).failure;
        if (failure) fileError ??= failure.message;
        if (fh && !failure) {
          try {
            await fh.sync();
            await fh.close();
            fh = undefined;
            const final = typeof to.file === "string" ? to.file : to.file(check.digests);
            await mkdir(dirname(final), { recursive: true });
            await rename(tmp!, final);
            kept = true;
            await syncDir(dirname(final));
            result.path = final;
          } catch (e) {
            if (!to.optional) throw e;
            fileError = (e as Error).message;
          }
        }
        if (fileError !== undefined) result.fileError = fileError;
      }
      report(true);
      return result;
    } finally {
      abortSignal.removeEventListener("abort", onAbort);
      await fh?.close().catch(() => {});
      if (tmp && !kept) await rm(tmp, { force: true });
    }
  }
}

function isPrematureClose(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === "ERR_STREAM_PREMATURE_CLOSE";
}

function nullSink(): Writable {
  return new Writable({
    write(_c, _e, done) {
      done();
    },
  });
}
