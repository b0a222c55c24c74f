/**
 * How registry answers and blob download faults become REGISTRY_* errors: one place for the
 * status-to-error mapping of every request the client makes.
 */
import type { TalosExtError } from "@talos-ext/spec";
import { type DownloadFault, isRetryableStatus, RetryableError } from "../net/index.ts";
import { mismatch } from "./digest.ts";
import { displayUrl, registryError } from "./errors.ts";
import { type HttpResponse, networkFailure, readBody } from "./http.ts";

/** The error for an unexpected status, with the registry's error codes (never our headers). */
export async function statusError(res: HttpResponse, method: string, doing: string): Promise<TalosExtError> {
  let detail = "";
  let codes: string[] = [];
  try {
    const text = (await readBody(res, 64 * 1024)).toString("utf8");
    const json = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    codes = (json.errors ?? []).map((e) => String(e.code ?? ""));
    detail = (json.errors ?? [])
      .map((e) => `${e.code ?? "ERROR"}: ${e.message ?? ""}`)
      .join("; ")
      .slice(0, 300);
  } catch {
    // Not a registry error body; the status says enough.
  }
  const where = `${method} ${displayUrl(res.url)}`;
  const msg = `${doing}: ${where} answered ${res.status}${detail ? ` (${detail})` : ""}`;
  if (codes.includes("DIGEST_INVALID")) {
    return registryError(
      "REGISTRY_DIGEST_MISMATCH",
      msg,
      "the uploaded bytes do not match their digest; the source is corrupt",
    );
  }
  if (res.status === 404 || codes.includes("NAME_UNKNOWN") || codes.includes("MANIFEST_UNKNOWN")) {
    return registryError("REGISTRY_NOT_FOUND", msg, "check the repository name and reference");
  }
  if (codes.includes("MANIFEST_BLOB_UNKNOWN") || codes.includes("BLOB_UNKNOWN")) {
    return registryError(
      "REGISTRY_HTTP",
      msg,
      "push the manifest's blobs (config, layers, children) before the manifest",
    );
  }
  return registryError(
    "REGISTRY_HTTP",
    msg,
    isRetryableStatus(res.status)
      ? "the registry is failing or throttling; retry later"
      : "see the registry's message",
  );
}

/** Maps a fault while reading a blob body (`what` names the blob) to its REGISTRY_* error. */
export function blobFault(what: string): (f: DownloadFault) => TalosExtError {
  return (f) => {
    switch (f.kind) {
      case "checksum":
        return mismatch(`${what} digest`, `${f.algorithm}:${f.expected}`, `${f.algorithm}:${f.actual}`);
      case "size":
        return mismatch(`${what} has the wrong size`, `${f.expected} bytes`, `${f.actual} bytes`);
      case "too-large":
        return mismatch(`${what} is larger than its descriptor`, `${f.limit} bytes`, "more");
      case "idle-timeout":
      case "deadline":
        return registryError(
          "REGISTRY_TIMEOUT",
          f.kind === "deadline"
            ? `GET ${f.url} not complete after ${f.deadlineMs} ms`
            : `GET ${f.url} timed out`,
          "the registry is slow or stuck; raise timeoutMs or retry later",
        );
      case "network": {
        const e = networkFailure(
          Object.assign(new Error(f.message), { code: f.code }),
          "GET",
          new URL(f.url),
        );
        return (e instanceof RetryableError ? e.final : e) as TalosExtError;
      }
      case "truncated":
        return registryError(
          "REGISTRY_UNREACHABLE",
          `connection cut after ${f.bytes}${f.total !== undefined ? ` of ${f.total}` : ""} bytes of ${what}`,
          "the connection was cut; check the network or the registry's logs and run again",
        );
      default:
        return registryError("REGISTRY_HTTP", `${what}: ${f.kind} at ${f.url}`, "see the registry's logs");
    }
  };
}
