/**
 * One HTTP exchange with a registry over node:http(s) (not fetch: we need our own CA, no
 * automatic redirects, streamed request bodies and socket-level timeouts). Retries are the
 * package's one loop (`../net/retry.ts`).
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { isTalosExtError } from "@talos-ext/spec";
import { RetryableError } from "../net/index.ts";
import { displayUrl, registryError } from "./errors.ts";

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /**
   * Bytes (replayable), a stream, or a writer that produces the body (both sent once; their
   * length must be in content-length).
   */
  body?: Uint8Array | Readable | BodyWriter;
}

/** Where a BodyWriter puts the request body. */
export interface BodySink {
  /**
   * Sends `chunk`; resolves once the socket has taken it, so its memory may be reused. Rejects
   * with RequestGone when the request died first.
   */
  write(chunk: Uint8Array): Promise<void>;
}

/**
 * Writes a request body through `sink`, then resolves; the request is ended after it. Rejecting
 * aborts the request before its last byte is sent, so the server never sees a complete body.
 */
export type BodyWriter = (sink: BodySink) => Promise<void>;

/** A BodySink write after the request failed or closed: the connection's failure, not the source's. */
export class RequestGone extends Error {
  /** What closed the request, when known. */
  readonly reason: Error | undefined;
  constructor(reason?: Error) {
    super("request closed while its body was being written");
    this.reason = reason;
  }
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  url: URL;
  body: http.IncomingMessage;
}

export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a body up to `limit` bytes (registries cap manifests at a few MiB). */
export async function readBody(res: HttpResponse, limit = 32 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.body.destroy();
      throw registryError(
        "REGISTRY_HTTP",
        `response from ${displayUrl(res.url)} is larger than ${limit} bytes`,
        "this is not a manifest; check the reference",
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function discard(res: HttpResponse): Promise<void> {
  res.body.resume();
  await new Promise<void>((resolve) => {
    if (res.body.complete || res.body.destroyed) resolve();
    else {
      res.body.once("end", () => resolve());
      res.body.once("close", () => resolve());
      res.body.once("error", () => resolve());
    }
  });
}

const TLS_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "EPROTO",
]);
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
]);
// An internal marker on the abort reason, never shown: not an error code of ours.
const TIMEOUT_CODE = "talos-ext:client-timeout";

/** Maps a socket-level failure to a TalosExtError, or a RetryableError when a retry may help. */
export function networkFailure(err: NodeJS.ErrnoException, method: string, url: URL): Error {
  if (isTalosExtError(err) || err instanceof RetryableError) return err;
  const code = err.code ?? "";
  const where = `${method} ${displayUrl(url)}`;
  if (TLS_CODES.has(code) || code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL")) {
    const plainHttp = code === "EPROTO" || /wrong version number|packet length too long/i.test(err.message);
    return registryError(
      "REGISTRY_TLS",
      plainHttp
        ? `TLS handshake with ${url.host} failed: it does not seem to speak HTTPS (${code})`
        : `TLS verification of ${url.host} failed (${code || "TLS error"})`,
      plainHttp
        ? `if ${url.host} serves plain HTTP, mark it insecure (insecure: ["${url.host}"])`
        : "pass the CA that signed the registry's certificate with caFile, or fix the certificate (it must name this host)",
      { cause: err },
    );
  }
  if (code.startsWith("HPE_")) {
    return registryError(
      "REGISTRY_HTTP",
      `${url.host} did not answer ${where} with valid HTTP (${code})`,
      url.protocol === "http:"
        ? `if ${url.host} serves HTTPS, do not mark it insecure`
        : "check the host and port",
      { cause: err },
    );
  }
  if (UNREACHABLE_CODES.has(code)) {
    return registryError(
      "REGISTRY_UNREACHABLE",
      `cannot connect to ${url.host} (${code}) for ${where}`,
      "check that the registry is running and the host and port in the reference are right",
      { cause: err },
    );
  }
  if (code === TIMEOUT_CODE) {
    return new RetryableError(
      `timeout on ${where}`,
      registryError(
        "REGISTRY_TIMEOUT",
        `${where} timed out`,
        "the registry is slow or stuck; raise timeoutMs or retry later",
        {
          cause: err,
        },
      ),
    );
  }
  return new RetryableError(
    `${code || err.message} on ${where}`,
    registryError(
      "REGISTRY_UNREACHABLE",
      `connection to ${url.host} failed during ${where} (${code || "network error"})`,
      "the connection was cut; check the network or the registry's logs and run again (finished blobs are skipped)",
      { cause: err },
    ),
  );
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ERR_STREAM_PREMATURE_CLOSE",
  TIMEOUT_CODE,
  ...UNREACHABLE_CODES,
]);

/** Whether an error came from the connection (as opposed to a local file or a check of ours). */
export function isNetworkError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && NETWORK_CODES.has(code);
}

export interface TransportOptions {
  caFile?: string | undefined;
  timeoutMs: number;
}

export class Transport {
  readonly #http: http.Agent;
  readonly #https: https.Agent;
  readonly #timeoutMs: number;

  constructor(options: TransportOptions) {
    let ca: Array<string | Buffer> | undefined;
    if (options.caFile) {
      try {
        ca = [...rootCertificates, readFileSync(options.caFile)];
      } catch (e) {
        throw registryError(
          "REGISTRY_TLS",
          `cannot read caFile ${options.caFile}`,
          "pass a readable PEM file",
          {
            file: options.caFile,
            cause: e,
          },
        );
      }
    }
    this.#timeoutMs = options.timeoutMs;
    this.#http = new http.Agent({ keepAlive: true, maxSockets: 16 });
    this.#https = new https.Agent({ keepAlive: true, maxSockets: 16, ...(ca ? { ca } : {}) });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }

  /** Sends one request; resolves when the response headers arrive. Never retries. */
  send(req: HttpRequest): Promise<HttpResponse> {
    const { method, url } = req;
    const isHttps = url.protocol === "https:";
    const mod = isHttps ? https : http;
    const headers: Record<string, string> = { "user-agent": "talos-ext", ...req.headers };
    if (req.body instanceof Uint8Array) headers["content-length"] = String(req.body.byteLength);
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      const r = mod.request(url, { method, headers, agent: isHttps ? this.#https : this.#http }, (res) => {
        if (settled) {
          res.resume();
          return;
        }
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, url, body: res });
      });
      r.setTimeout(this.#timeoutMs, () => {
        const e = new Error(`no data for ${this.#timeoutMs} ms`) as NodeJS.ErrnoException;
        e.code = TIMEOUT_CODE;
        r.destroy(e);
      });
      r.on("error", (e: NodeJS.ErrnoException) => fail(networkFailure(e, method, url)));
      if (req.body === undefined) {
        r.end();
      } else if (req.body instanceof Uint8Array) {
        r.end(req.body);
      } else if (typeof req.body === "function") {
        writeBody(r, req.body).then(
          () => r.end(),
          (e: Error) => {
            r.destroy();
            // The connection's own failure is reported (and retried) through the request's
            // "error" event; a failing writer (unreadable file, wrong size or digest) is reported
            // as is and not retried.
            fail(e instanceof RequestGone ? networkFailure(gone(e), method, url) : e);
          },
        );
      } else {
        const body = req.body;
        // A failing source (unreadable file, wrong size or digest) is not a network failure:
        // it is reported as is and not retried.
        body.once("error", (e) => {
          r.destroy();
          fail(e);
        });
        r.once("error", () => body.destroy());
        body.pipe(r);
      }
    });
  }
}

function gone(e: RequestGone): NodeJS.ErrnoException {
  if (e.reason) return e.reason;
  const err = new Error("connection closed while sending the request body") as NodeJS.ErrnoException;
  err.code = "ECONNRESET";
  return err;
}

function writeBody(r: http.ClientRequest, writer: BodyWriter): Promise<void> {
  let failure: Error | undefined;
  let closed = false;
  const waiting = new Set<(e: RequestGone) => void>();
  r.once("error", (e) => {
    failure ??= e;
  });
  r.once("close", () => {
    closed = true;
    for (const reject of waiting) reject(new RequestGone(failure));
    waiting.clear();
  });
  const sink: BodySink = {
    write(chunk) {
      if (closed || r.destroyed) return Promise.reject(new RequestGone(failure));
      return new Promise<void>((resolve, reject) => {
        // A destroyed request does not always call back pending writes; "close" settles them.
        waiting.add(reject);
        r.write(chunk, (err) => {
          waiting.delete(reject);
          if (err) reject(new RequestGone(failure ?? err));
          else resolve();
        });
      });
    },
  };
  return writer(sink);
}

export function toReadable(source: ReadableStream | NodeJS.ReadableStream | Uint8Array): Readable {
  if (source instanceof Uint8Array)
    return Readable.from([Buffer.from(source.buffer, source.byteOffset, source.byteLength)]);
  if (source instanceof Readable) return source;
  if (typeof (source as ReadableStream).getReader === "function") {
    return Readable.fromWeb(source as import("node:stream/web").ReadableStream);
  }
  if (typeof (source as NodeJS.ReadableStream).on === "function") {
    return new Readable().wrap(source as NodeJS.ReadableStream);
  }
  if (Symbol.asyncIterator in (source as object)) return Readable.from(source as AsyncIterable<Uint8Array>);
  throw new TypeError("blob source must be bytes, a web ReadableStream or a Node.js readable stream");
}
