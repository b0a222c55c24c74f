/**
 * What can go wrong with a download, as data. The download primitive reports a fault; each
 * caller maps it to its own stable code (SOURCE_*, UPDATE_*, REGISTRY_*) with `DownloadErrorMap`,
 * so one fault has one code per domain and the retry decision lives here, once.
 */
import type { TalosExtError } from "@talos-ext/spec";

/** One failure of a download attempt. `url` is already safe to print (no user info, no query). */
export type DownloadFault =
  | {
      /** A non-2xx answer (or a 2xx that is not the whole file, e.g. 206). */
      kind: "status";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** The HTTP status code. */
      status: number;
      /** The reason phrase the server sent with it (may be empty). */
      statusText: string;
    }
  | {
      /** A socket-level failure: reset, refused, DNS, proxy tunnel. */
      kind: "network";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** Node's error code (`ECONNRESET`, `EAI_AGAIN`, …): it decides whether to retry. */
      code: string;
      /** Node's error message. */
      message: string;
      /** The underlying error, for debugging; not part of any message. */
      cause: unknown;
    }
  | {
      /** TLS verification failed (never retried: a certificate does not become trusted by waiting). */
      kind: "tls";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** Node's TLS error code (e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`). */
      code: string;
      /** The underlying error, for debugging; not part of any message. */
      cause: unknown;
    }
  | {
      /** No byte for `timeoutMs` (connect included). */
      kind: "idle-timeout";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** The idle timeout that passed, in ms. */
      timeoutMs: number;
      /** The underlying error, for debugging; not part of any message. */
      cause: unknown;
    }
  | {
      /** The overall deadline of the download passed. */
      kind: "deadline";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** The deadline, in ms from the download's start. */
      deadlineMs: number;
      /** Bytes that had arrived in the last attempt. */
      bytes: number;
    }
  | {
      /** The connection closed before `total` (Content-Length) or before the body was complete. */
      kind: "truncated";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** Bytes received before the connection closed. */
      bytes: number;
      /** The Content-Length announced, when there was one. */
      total?: number | undefined;
    }
  | {
      /** More bytes than `limit` arrived. */
      kind: "too-large";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** The byte limit: the expected size or the caller's maximum. */
      limit: number;
    }
  | {
      /** The body ended with another size than the expected one. */
      kind: "size";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** The size the caller expected, in bytes. */
      expected: number;
      /** The size received, in bytes. */
      actual: number;
    }
  | {
      /** A checksum did not match. */
      kind: "checksum";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** The checksum that failed (`sha256` or `sha512`). */
      algorithm: string;
      /** The checksum the caller expected, lowercase hex. */
      expected: string;
      /** The checksum of the bytes received, lowercase hex. */
      actual: string;
      /** Bytes received (and hashed). */
      size: number;
    }
  | {
      /** A redirect without Location, to an unparsable URL, or to a scheme other than http(s). */
      kind: "bad-redirect";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** The redirect status (3xx). */
      status: number;
      /** The Location, when there was one. */
      to?: string | undefined;
      /** What was wrong: no Location, a Location that is no URL, or a scheme other than http(s). */
      reason: "no-location" | "invalid" | "scheme";
    }
  | {
      /** An https download redirected to plain http. */
      kind: "insecure-redirect";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** The plain-http URL it redirected to. */
      to: string;
    }
  | {
      /** Too many redirects, or a redirect loop. */
      kind: "too-many-redirects";
      /** The URL, safe to print (no user info, no query). */
      url: string;
      /** The most redirects followed for one download. */
      max: number;
      /** A URL came back: following further could never end. */
      loop: boolean;
    };

/** Turns a fault into the caller's coded error. */
export type DownloadErrorMap = (fault: DownloadFault) => TalosExtError;

const RETRYABLE_NET = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ERR_PROXY_TUNNEL",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
]);

/** HTTP statuses worth another attempt: 408, 429 and 5xx except 501 and 505. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Whether trying the same URL again may help. */
export function isRetryableFault(fault: DownloadFault): boolean {
  switch (fault.kind) {
    case "status":
      return isRetryableStatus(fault.status);
    case "network":
      return fault.code === "" || RETRYABLE_NET.has(fault.code);
    case "idle-timeout":
    case "truncated":
      return true;
    default:
      return false;
  }
}

const TLS_CODE = /^(CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH)/;

/** Node's error code of `err`, or "". */
export function errorCode(err: unknown): string {
  return String((err as { code?: unknown } | null)?.code ?? "");
}

/** Classifies a socket-level failure (`timedOut`: our idle timer fired). */
export function socketFault(url: string, err: unknown, timedOut: boolean, timeoutMs: number): DownloadFault {
  if (timedOut) return { kind: "idle-timeout", url, timeoutMs, cause: err };
  const code = errorCode(err);
  if (TLS_CODE.test(code)) return { kind: "tls", url, code, cause: err };
  const message = err instanceof Error ? err.message : String(err);
  return { kind: "network", url, code, message, cause: err };
}

/**
 * A URL as it may appear in messages and events: no user info, no fragment and, unless
 * `keepQuery` (a source URL's query is part of its identity), no query: storage redirects carry
 * signatures, upload URLs carry state.
 */
export function displayUrl(
  url: URL | string,
  options: {
    /** Keep the query (default false): set for a source URL, whose query is part of what it names. */
    keepQuery?: boolean;
  } = {},
): string {
  try {
    const u = new URL(String(url));
    return `${u.protocol}//${u.host}${u.pathname}${options.keepQuery ? u.search : ""}`;
  } catch {
    return "<invalid url>";
  }
}
