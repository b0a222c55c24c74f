/**
 * How download faults read as SOURCE_* errors (the codes and messages sources have always had).
 * The HTTP side itself is the package's download primitive (`../net`).
 */
import type { TalosExtError } from "@talos-ext/spec";
import { type DownloadFault, displayUrl, MAX_REDIRECTS, USER_AGENT } from "../net/index.ts";
import { sourceError } from "./errors.ts";

export { MAX_REDIRECTS, USER_AGENT };

/** A source URL as shown: no user info, query kept (it is part of what is downloaded). */
export function showSourceUrl(url: URL): string {
  return displayUrl(url, { keepQuery: true });
}

/** Maps a download fault to its SOURCE_* error. */
export function sourceFault(f: DownloadFault): TalosExtError {
  switch (f.kind) {
    case "status":
      return sourceError(
        "SOURCE_HTTP_ERROR",
        f.status >= 200 && f.status < 300
          ? `${f.url}: unexpected HTTP ${f.status}`
          : `${f.url}: HTTP ${f.status}${f.statusText ? ` ${f.statusText}` : ""}`,
        f.status >= 200 && f.status < 300
          ? "The server did not send the whole file; check the URL."
          : f.status === 404 || f.status === 410
            ? "The file is not there; check the URL and version (or add a mirror)."
            : f.status >= 500
              ? "The server failed; retry later or use a mirror."
              : "The server refused the download; check the URL.",
      );
    case "idle-timeout":
      return sourceError(
        "SOURCE_TIMEOUT",
        `${f.url}: no data for ${f.timeoutMs} ms`,
        "The server or network is too slow; retry later or raise timeoutMs.",
        { cause: f.cause },
      );
    case "deadline":
      return sourceError(
        "SOURCE_DEADLINE",
        `${f.url}: not complete after ${f.deadlineMs} ms (${f.bytes} bytes received)`,
        "The server sends too slowly to finish in time; use a mirror, or raise the deadline (deadlineMs).",
      );
    case "tls":
      return sourceError(
        "SOURCE_TLS_ERROR",
        `${f.url}: TLS verification failed (${f.code})`,
        "The certificate is not trusted. For a private mirror, add its CA (the `ca` option or NODE_EXTRA_CA_CERTS); verification cannot be turned off.",
        { cause: f.cause },
      );
    case "network":
      return sourceError(
        "SOURCE_NETWORK_ERROR",
        `${f.url}: ${f.code ? `${f.code}: ` : ""}${f.message}`,
        f.code === "ENOTFOUND"
          ? "The host name does not resolve; check the URL, DNS, or HTTP(S)_PROXY."
          : "Check the network (and HTTP(S)_PROXY / NO_PROXY); the download is retried a few times.",
        { cause: f.cause },
      );
    case "truncated":
      return sourceError(
        "SOURCE_NETWORK_ERROR",
        `${f.url}: connection closed after ${f.bytes}${f.total !== undefined ? ` of ${f.total}` : ""} bytes`,
        "The download was cut off; it is retried a few times. Check the network or use a mirror.",
      );
    case "too-large":
    case "size":
      return sourceError(
        "SOURCE_CHECKSUM_MISMATCH",
        f.kind === "size"
          ? `${f.url}: expected ${f.expected} bytes, got ${f.actual}`
          : `${f.url}: more than ${f.limit} bytes`,
        "The file is not the one the pkg.yaml pins.",
      );
    case "checksum":
      return sourceError(
        "SOURCE_CHECKSUM_MISMATCH",
        `${f.url}: ${f.algorithm} mismatch: expected ${f.expected}, got ${f.actual} (${f.size} bytes)`,
        "The file is not the one the pkg.yaml pins. If the upstream file really changed, check why, then update both sha256 and sha512.",
      );
    case "bad-redirect":
      return sourceError(
        f.reason === "no-location" ? "SOURCE_HTTP_ERROR" : "SOURCE_BAD_URL",
        f.reason === "no-location"
          ? `${f.url}: HTTP ${f.status} without a Location`
          : f.reason === "scheme"
            ? `${f.url} redirects to ${f.to} which is not http(s)`
            : `${f.url} redirects to an invalid URL`,
        f.reason === "scheme" ? "Use another URL." : "Check the URL.",
      );
    case "insecure-redirect":
      return sourceError(
        "SOURCE_INSECURE_REDIRECT",
        `${f.url} redirects to plain http (${f.to})`,
        "Refusing to downgrade an https download. Use an https URL that does not redirect to http.",
      );
    case "too-many-redirects":
      return sourceError(
        "SOURCE_TOO_MANY_REDIRECTS",
        `${f.url}: more than ${f.max} redirects${f.loop ? " (the redirects loop)" : ""}`,
        "The server keeps redirecting; use the final download URL directly.",
      );
  }
}
