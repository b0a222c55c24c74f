/**
 * One HTTP(S) GET with redirects, on node:http/https.
 *
 * Proxies: Node 24's `http.Agent`/`https.Agent` take a `proxyEnv` option that reads
 * HTTP_PROXY / HTTPS_PROXY / NO_PROXY (upper or lower case) and tunnels https with CONNECT.
 * We give every request its own agent with `proxyEnv` (default `process.env`) instead of
 * calling `http.setGlobalProxyFromEnv()` or relying on NODE_USE_ENV_PROXY, so behaviour does
 * not depend on global state or on how node was started. (The built-in fetch ignores these
 * variables unless NODE_USE_ENV_PROXY is set, which is why fetch is not used.)
 */
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { rootCertificates } from "node:tls";
import pkg from "../../package.json" with { type: "json" };
import { sourceError } from "./errors.ts";

export const USER_AGENT = `talos-ext/${(pkg as { version: string }).version}`;
export const MAX_REDIRECTS = 10;

export interface RequestOptions {
  timeoutMs: number;
  proxyEnv: Record<string, string | undefined>;
  ca?: string[] | undefined;
}

/** A failed attempt: `retryable` says whether trying the same URL again may help. */
export class AttemptError extends Error {
  constructor(
    readonly error: Error,
    readonly retryable: boolean,
  ) {
    super(error.message, { cause: error });
  }
}

/** The URL without user info, for messages (credentials never reach a log). */
export function displayUrl(url: URL | string): string {
  const u = new URL(String(url));
  u.username = "";
  u.password = "";
  return u.toString();
}

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
  "UND_ERR_SOCKET",
]);

function errCode(err: unknown): string {
  return String((err as { code?: unknown } | null)?.code ?? "");
}

const TLS_CODE = /^(CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH)/;

/** Classifies a socket-level failure into a SOURCE_* error. */
export function networkFailure(url: URL, err: unknown, timedOut: boolean, timeoutMs: number): AttemptError {
  const where = displayUrl(url);
  if (timedOut) {
    return new AttemptError(
      sourceError(
        "SOURCE_TIMEOUT",
        `${where}: no data for ${timeoutMs} ms`,
        "The server or network is too slow; retry later or raise timeoutMs.",
        { cause: err },
      ),
      true,
    );
  }
  const code = errCode(err);
  if (TLS_CODE.test(code)) {
    return new AttemptError(
      sourceError(
        "SOURCE_TLS_ERROR",
        `${where}: TLS verification failed (${code})`,
        "The certificate is not trusted. For a private mirror, add its CA (the `ca` option or NODE_EXTRA_CA_CERTS); verification cannot be turned off.",
        { cause: err },
      ),
      false,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new AttemptError(
    sourceError(
      "SOURCE_NETWORK_ERROR",
      `${where}: ${code ? `${code}: ` : ""}${message}`,
      code === "ENOTFOUND"
        ? "The host name does not resolve; check the URL, DNS, or HTTP(S)_PROXY."
        : "Check the network (and HTTP(S)_PROXY / NO_PROXY); the download is retried a few times.",
      { cause: err },
    ),
    code === "" || RETRYABLE_NET.has(code),
  );
}

/** One request, no redirect handling. Resolves once headers arrive. */
function requestOnce(
  url: URL,
  options: RequestOptions,
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
      headers: { Accept: "*/*", "User-Agent": USER_AGENT, "Accept-Encoding": "identity" },
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

export interface OpenResult {
  res: IncomingMessage;
  req: http.ClientRequest;
  finalUrl: URL;
  /** Set when the idle timeout fired on this request. */
  timedOut: () => boolean;
}

/**
 * GETs `start`, following up to 10 redirects. A redirect from https to http is refused unless
 * the URL we started from was http already. Non-2xx answers become SOURCE_HTTP_ERROR
 * (retryable for 5xx and 429).
 */
export async function openUrl(start: URL, options: RequestOptions): Promise<OpenResult> {
  let url = start;
  const visited: string[] = [];
  for (let hop = 0; ; hop++) {
    let timedOut = false;
    let opened: { res: IncomingMessage; req: http.ClientRequest };
    try {
      opened = await requestOnce(url, options, () => {
        timedOut = true;
      });
    } catch (err) {
      throw networkFailure(url, err, timedOut, options.timeoutMs);
    }
    const { res } = opened;
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) {
      if (status !== 200) {
        res.destroy();
        throw new AttemptError(
          sourceError(
            "SOURCE_HTTP_ERROR",
            `${displayUrl(url)}: unexpected HTTP ${status}`,
            "The server did not send the whole file; check the URL.",
          ),
          false,
        );
      }
      return { ...opened, finalUrl: url, timedOut: () => timedOut };
    }
    res.resume(); // drain, so the socket closes cleanly
    if ([301, 302, 303, 307, 308].includes(status)) {
      const location = res.headers.location;
      if (!location) {
        throw new AttemptError(
          sourceError(
            "SOURCE_HTTP_ERROR",
            `${displayUrl(url)}: HTTP ${status} without a Location`,
            "Check the URL.",
          ),
          false,
        );
      }
      visited.push(url.toString());
      if (hop + 1 > MAX_REDIRECTS) {
        const loop = visited.filter((u, i) => visited.indexOf(u) !== i).length > 0;
        throw new AttemptError(
          sourceError(
            "SOURCE_TOO_MANY_REDIRECTS",
            `${displayUrl(start)}: more than ${MAX_REDIRECTS} redirects${loop ? " (the redirects loop)" : ""}`,
            "The server keeps redirecting; use the final download URL directly.",
          ),
          false,
        );
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new AttemptError(
          sourceError("SOURCE_BAD_URL", `${displayUrl(url)} redirects to an invalid URL`, "Check the URL."),
          false,
        );
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new AttemptError(
          sourceError(
            "SOURCE_BAD_URL",
            `${displayUrl(url)} redirects to ${next.protocol} which is not http(s)`,
            "Use another URL.",
          ),
          false,
        );
      }
      if (url.protocol === "https:" && next.protocol === "http:" && start.protocol === "https:") {
        throw new AttemptError(
          sourceError(
            "SOURCE_INSECURE_REDIRECT",
            `${displayUrl(url)} redirects to plain http (${displayUrl(next)})`,
            "Refusing to downgrade an https download. Use an https URL that does not redirect to http.",
          ),
          false,
        );
      }
      url = next;
      continue;
    }
    const retryable = status >= 500 || status === 429 || status === 408;
    throw new AttemptError(
      sourceError(
        "SOURCE_HTTP_ERROR",
        `${displayUrl(url)}: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}`,
        status === 404 || status === 410
          ? "The file is not there; check the URL and version (or add a mirror)."
          : status >= 500
            ? "The server failed; retry later or use a mirror."
            : "The server refused the download; check the URL.",
      ),
      retryable,
    );
  }
}
