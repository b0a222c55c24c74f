/**
 * One HTTP(S) GET with redirects and their security rules, on node:http/https.
 *
 * Proxies: Node 24's `http.Agent`/`https.Agent` take a `proxyEnv` option that reads
 * HTTP_PROXY / HTTPS_PROXY / NO_PROXY (upper or lower case) and tunnels https with CONNECT.
 * Every request gets its own agent with `proxyEnv` (default `process.env`) instead of
 * `http.setGlobalProxyFromEnv()` or NODE_USE_ENV_PROXY, so behaviour does not depend on global
 * state or on how node was started. (The built-in fetch ignores these variables unless
 * NODE_USE_ENV_PROXY is set, which is why fetch is not used.)
 *
 * Redirect rules: at most `maxRedirects` hops; only http(s) targets (no `file:`, `data:`, ...);
 * never https -> http once the download started on https; `credentialHeaders` go to the
 * origin the download started on only, never to a host a redirect leads to.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import { rootCertificates } from "node:tls";
import pkg from "../../package.json" with { type: "json" };
import {
  type DownloadErrorMap,
  type DownloadFault,
  displayUrl,
  isRetryableFault,
  socketFault,
} from "./faults.ts";
import { RetryableError } from "./retry.ts";

/** `User-Agent` of every plain download: `talos-ext/<version>`. */
export const USER_AGENT = `talos-ext/${(pkg as { version: string }).version}`;
/** Redirects followed by default before giving up. */
export const MAX_REDIRECTS = 10;

/** How `openUrl` connects. */
export interface OpenUrlOptions {
  /** Idle timeout: fail when no byte arrives for this long, connect included. */
  timeoutMs: number;
  /** Where HTTP_PROXY / HTTPS_PROXY / NO_PROXY are read from; `{}` ignores any proxy. */
  proxyEnv: Record<string, string | undefined>;
  /** Extra CA certificates (PEM) trusted besides the system ones; verification stays on. */
  ca?: string[] | undefined;
  /** Extra request headers (sent to every hop). */
  headers?: Record<string, string> | undefined;
  /** Headers such as Authorization: sent to the start URL's origin only. */
  credentialHeaders?: Record<string, string> | undefined;
  /** Redirects to follow (default MAX_REDIRECTS). */
  maxRedirects?: number | undefined;
  /** Aborts the request (the deadline of a download). */
  signal?: AbortSignal | undefined;
  /** Maps faults to the caller's coded errors. */
  errors: DownloadErrorMap;
  /** How URLs are shown in faults (default: `displayUrl`). */
  show?: ((url: URL) => string) | undefined;
}

/** An open response, headers received, body not read yet. */
export interface OpenedBody {
  /** The body; the download primitive reads it to the end. */
  body: IncomingMessage;
  /** The URL the body comes from (after redirects). */
  url: URL;
  /** Response headers, lower-cased names. */
  headers: IncomingHttpHeaders;
  /** Whether the idle timer fired (so a body error is a timeout, not a reset). */
  timedOut(): boolean;
  /** Stops the request and frees its socket. */
  abort(): void;
}

/** Throws `fault` as the caller's error, wrapped for a retry when one may help. */
export function raise(fault: DownloadFault, errors: DownloadErrorMap, retryAfterMs?: number): never {
  const final = errors(fault);
  if (isRetryableFault(fault))
    throw new RetryableError(`${final.code}: ${final.message}`, final, retryAfterMs);
  throw final;
}

function requestOnce(
  url: URL,
  headers: Record<string, string>,
  options: OpenUrlOptions,
  onTimeout: () => void,
): Promise<{ res: IncomingMessage; req: http.ClientRequest }> {
  const isHttps = url.protocol === "https:";
  const agent = isHttps
    ? new https.Agent({
        proxyEnv: options.proxyEnv,
        keepAlive: false,
        rejectUnauthorized: true,
        ...(options.ca ? { ca: [...rootCertificates, ...options.ca] } : {}),
      })
    : new http.Agent({ proxyEnv: options.proxyEnv, keepAlive: false });
  const mod = isHttps ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, {
      method: "GET",
      agent,
      timeout: options.timeoutMs,
      headers,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    req.on("timeout", () => {
      onTimeout();
      req.destroy(new Error(`no data for ${options.timeoutMs} ms`));
    });
    req.on("response", (res) => resolve({ res, req }));
    req.on("error", reject);
    req.on("close", () => agent.destroy());
    req.end();
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GETs `start`, following redirects by the rules above. Resolves once a 200 arrives; every other
 * outcome is the caller's coded error (a RetryableError for 5xx/408/429 and resets).
 */
export async function openUrl(start: URL, options: OpenUrlOptions): Promise<OpenedBody> {
  const show = options.show ?? ((u: URL) => displayUrl(u));
  const max = options.maxRedirects ?? MAX_REDIRECTS;
  let url = start;
  const visited: string[] = [];
  for (let hop = 0; ; hop++) {
    let timedOut = false;
    const headers: Record<string, string> = {
      Accept: "*/*",
      "User-Agent": USER_AGENT,
      "Accept-Encoding": "identity",
      ...options.headers,
      ...(url.origin === start.origin ? options.credentialHeaders : {}),
    };
    let opened: { res: IncomingMessage; req: http.ClientRequest };
    try {
      opened = await requestOnce(url, headers, options, () => {
        timedOut = true;
      });
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      raise(socketFault(show(url), err, timedOut, options.timeoutMs), options.errors);
    }
    const { res, req } = opened;
    const status = res.statusCode ?? 0;
    if (status === 200) {
      return {
        body: res,
        url,
        headers: res.headers,
        timedOut: () => timedOut,
        abort: () => req.destroy(),
      };
    }
    res.resume(); // drain, so the socket closes cleanly
    if (!REDIRECTS.has(status)) {
      const retryAfter = res.headers["retry-after"];
      raise(
        { kind: "status", url: show(url), status, statusText: res.statusMessage ?? "" },
        options.errors,
        retryAfter && /^\d+$/.test(retryAfter) ? Math.min(Number(retryAfter) * 1000, 60_000) : undefined,
      );
    }
    const location = res.headers.location;
    if (!location)
      raise({ kind: "bad-redirect", url: show(url), status, reason: "no-location" }, options.errors);
    visited.push(url.toString());
    if (hop + 1 > max) {
      const loop = visited.some((u, i) => visited.indexOf(u) !== i);
      raise({ kind: "too-many-redirects", url: show(start), max, loop }, options.errors);
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      raise({ kind: "bad-redirect", url: show(url), status, reason: "invalid" }, options.errors);
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      raise(
        { kind: "bad-redirect", url: show(url), status, to: next.protocol, reason: "scheme" },
        options.errors,
      );
    }
    if (start.protocol === "https:" && next.protocol === "http:") {
      raise({ kind: "insecure-redirect", url: show(url), to: show(next) }, options.errors);
    }
    url = next;
  }
}
