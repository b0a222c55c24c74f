import { type Readable, Writable } from "node:stream";
import type { TalosExtError } from "@talos-ext/spec";
import {
  ChecksumStream,
  download,
  isRetryableStatus,
  RetryableError,
  type RetryPolicy,
  retryAfterMs,
  withRetries,
} from "../net/index.ts";
import { RegistryAuth, Scopes } from "./auth.ts";
import { type CredentialInput, CredentialResolver } from "./credentials.ts";
import { digestOf, mismatch, parseDigest } from "./digest.ts";
import { displayUrl, registryError } from "./errors.ts";
import {
  type BodyWriter,
  discard,
  type HttpResponse,
  header,
  isNetworkError,
  networkFailure,
  readBody,
  Transport,
} from "./http.ts";
import { MANIFEST_ACCEPT, sniffManifestMediaType } from "./media-types.ts";
import { DOCKER_HUB, DOCKER_HUB_API, type ImageReference, parseReference, toReference } from "./reference.ts";
import { blobFault, statusError } from "./status-errors.ts";
import { locationOf, type UploadContext, uploadChunked, uploadMonolithic } from "./upload.ts";

/**
 * What the registry client reports: blobs skipped, mounted, uploaded and downloaded, manifests put, retries.
 */
export type ProgressEvent =
  | {
      /** The registry already has the blob: nothing is uploaded. */
      type: "blob-skipped";
      /** The repository (`host/name`) the client talked to. */
      repository: string;
      /** The blob's digest. */
      digest: string;
      /** The blob's size in bytes. */
      size: number;
    }
  | {
      /** The blob was mounted from another repository of the same registry instead of uploaded. */
      type: "blob-mounted";
      /** The repository (`host/name`) the client talked to. */
      repository: string;
      /** The blob's digest. */
      digest: string;
      /** The blob's size in bytes. */
      size: number;
      /** The repository it was mounted from. */
      from: string;
    }
  | {
      /** Upload progress of a blob. */
      type: "blob-upload";
      /** The repository (`host/name`) the client talked to. */
      repository: string;
      /** The blob's digest. */
      digest: string;
      /** Bytes sent so far. */
      bytes: number;
      /** The blob's size in bytes. */
      total: number;
    }
  | {
      /** Download progress of a blob. */
      type: "blob-download";
      /** The repository (`host/name`) the client talked to. */
      repository: string;
      /** The blob's digest. */
      digest: string;
      /** Bytes received so far. */
      bytes: number;
      /** The blob's size in bytes. */
      total: number;
    }
  | {
      /** A manifest (or index) was put. */
      type: "manifest-put";
      /** The repository (`host/name`) the client talked to. */
      repository: string;
      /** The tag or digest it was put under. */
      reference: string;
      /** The manifest's digest. */
      digest: string;
      /** The manifest's media type (image manifest or index, OCI or Docker). */
      mediaType: string;
    }
  | {
      /** The registry already has the manifest: it was not put again. */
      type: "manifest-skipped";
      /** The repository (`host/name`) the client talked to. */
      repository: string;
      /** The tag or digest it would have been put under. */
      reference: string;
      /** The manifest's digest. */
      digest: string;
    }
  | {
      /** A request failed in a retryable way and is tried again after a wait. */
      type: "retry";
      /** Which retry this is: 1 for the first one after the original attempt. */
      attempt: number;
      /** Why the previous attempt failed, printable. */
      reason: string;
      /** The wait before this retry, in ms (the server's Retry-After, else backoff). */
      delayMs: number;
    };

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** Plain HTTP: for every registry (`true`) or the listed hosts (`host:port`). Default HTTPS. */
  insecure?: boolean | string[];
  /** Extra CA (PEM) trusted for TLS, on top of the system's. */
  caFile?: string;
  /** docker config.json; default $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
  dockerConfig?: string;
  /** Credentials by registry (`host:port`, `docker.io`); they win over docker's config. */
  credentials?: Record<string, CredentialInput>;
  /** Retries of a failed request or blob upload on 429/5xx/reset/timeout; default 5. */
  retries?: number;
  /** First backoff step; doubles per attempt, with jitter. Default 500 ms. */
  retryDelayMs?: number;
  /** A request fails when its socket is idle this long; default 60 s. */
  timeoutMs?: number;
  /** Upload blobs larger than this in PATCH chunks of this size; default: one PUT. */
  chunkSize?: number;
  /** Progress of uploads, downloads, skips and retries. */
  onProgress?: (e: ProgressEvent) => void;
}

/** A blob as a descriptor names it: what `pushBlob` uploads (or finds already there). */
export interface BlobDescriptor {
  /** `sha256:<hex>` the bytes must hash to. */
  digest: string;
  /** Size in bytes. */
  size: number;
  /** Media type of the blob, when known. */
  mediaType?: string;
}

/**
 * A blob's bytes, opened anew for every attempt: bytes, a stream, or `{ path }`, a local file that
 * holds exactly the blob (read in place into reused buffers: the cheapest way to upload a file).
 */
export type BlobSource = () => ReadableStream | NodeJS.ReadableStream | Uint8Array | { path: string };

type Access = "pull" | "push";

interface SendRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Uint8Array | Readable | BodyWriter;
  /** Follow 3xx (blob downloads are redirected to storage). */
  follow?: boolean;
}

/** Bytes between blob download progress events. */
const PROGRESS_STEP = 1024 * 1024;

/**
 * A Docker Registry HTTP API v2 client: auth (basic, bearer, credential helpers), verified blobs, retries.
 * Every failure is a `REGISTRY_*` TalosExtError.
 */
export class RegistryClient {
  readonly #options: RegistryClientOptions;
  readonly #transport: Transport;
  readonly #credentials: CredentialResolver;
  readonly #auth = new Map<string, RegistryAuth>();
  readonly #pings = new Map<string, Promise<void>>();
  readonly #policy: RetryPolicy;

  constructor(options: RegistryClientOptions = {}) {
    this.#options = options;
    this.#transport = new Transport({ caFile: options.caFile, timeoutMs: options.timeoutMs ?? 60_000 });
    this.#credentials = new CredentialResolver(options.credentials, options.dockerConfig);
    this.#policy = {
      retries: Math.max(0, options.retries ?? 5),
      baseDelayMs: options.retryDelayMs ?? 500,
      onRetry: (attempt, reason, delayMs) => this.#emit({ type: "retry", attempt, reason, delayMs }),
    };
  }

  /** Closes idle connections. The client stays usable. */
  close(): void {
    this.#transport.close();
  }

  // -------------------------------------------------------------------------------------------
  // Blobs

  /**
   * Whether the repository of `ref` has the blob `digest` (a HEAD, retried like every request).
   * Throws `REGISTRY_*` errors for a bad digest, auth failures and exhausted retries.
   */
  async blobExists(ref: ImageReference | string, digest: string): Promise<boolean> {
    const r = toReference(ref);
    parseDigest(digest);
    return withRetries(this.#policy, () => this.#headBlob(r, digest, "pull"));
  }

  /**
   * Makes a blob present in `ref`'s repository: "exists" (HEAD found it), "mounted" (from
   * `mountFrom`, a repository on the same registry) or "uploaded". A retried upload starts over
   * with a fresh upload session.
   */
  async pushBlob(
    ref: ImageReference | string,
    desc: BlobDescriptor,
    open: BlobSource,
    opts: {
      /**
       * A repository that has the blob (`repo/name`, or `registry/repo/name`): the registry is
       * asked to mount it from there instead of an upload; one on another registry is ignored.
       */
      mountFrom?: string;
    } = {},
  ): Promise<"exists" | "mounted" | "uploaded"> {
    const r = toReference(ref);
    parseDigest(desc.digest);
    if (!Number.isSafeInteger(desc.size) || desc.size < 0) {
      throw registryError(
        "REGISTRY_BAD_DIGEST",
        `blob ${desc.digest} has an invalid size ${desc.size}`,
        "sizes are byte counts",
      );
    }
    const from = opts.mountFrom ? mountSource(opts.mountFrom, r) : undefined;
    const scopes = Scopes.repository(r.repository, ["pull", "push"]);
    if (from) scopes.add(`repository:${from}`, ["pull"]);
    const uploads = this.#uploadsUrl(r);

    const retry = <T>(fn: () => Promise<T>) => withRetries(this.#policy, fn);
    // The retry budget is per request: the HEAD, the session POST and the upload each get their
    // own `retries`. A failed upload starts over with a fresh session (a cut body may have left
    // bytes in the old one), without spending the budget of the requests that succeeded.
    if (await retry(() => this.#headBlob(r, desc.digest, "push"))) {
      this.#emit({ type: "blob-skipped", repository: r.repository, digest: desc.digest, size: desc.size });
      return "exists";
    }
    return retry(async () => {
      const started = await retry(() => this.#startUpload(r, scopes, desc, uploads, from));
      if (started === "mounted") return "mounted";
      const chunk = this.#options.chunkSize;
      if (chunk && chunk > 0 && desc.size > chunk)
        await uploadChunked(this.#uploadContext(r, scopes), desc, open, started, chunk);
      else await uploadMonolithic(this.#uploadContext(r, scopes), desc, open, started);
      return "uploaded";
    });
  }

  /** Downloads a blob and checks its digest (and size, when given). */
  async fetchBlob(ref: ImageReference | string, digest: string, size?: number): Promise<Uint8Array> {
    const r = toReference(ref);
    parseDigest(digest);
    let chunks: Buffer[] = [];
    await this.#download(r, digest, size, () => {
      chunks = [];
      return new Writable({
        write(c: Buffer, _e, done) {
          chunks.push(c);
          done();
        },
      });
    });
    return Buffer.concat(chunks);
  }

  /**
   * Streams a blob; the stream fails with REGISTRY_DIGEST_MISMATCH at its end when the bytes do
   * not match. Only opening the stream is retried.
   */
  async fetchBlobStream(ref: ImageReference | string, digest: string, size?: number): Promise<Readable> {
    const r = toReference(ref);
    parseDigest(digest);
    const res = await withRetries(this.#policy, () => this.#openBlob(r, digest));
    const { algorithm, hex } = parseDigest(digest);
    const verifier = new ChecksumStream({
      expect: { [algorithm]: hex },
      size,
      url: displayUrl(res.url),
      errors: blobFault(`blob ${digest} from ${r.registry}/${r.repository}`),
    });
    res.body.on("error", (e) => verifier.destroy(toFinal(networkFailure(e, "GET", res.url))));
    return res.body.pipe(verifier);
  }

  /** Downloads a blob into `sink` (e.g. a file stream), verifying it; retried as a whole. */
  async downloadBlob(
    ref: ImageReference | string,
    digest: string,
    size: number | undefined,
    sink: () => NodeJS.WritableStream,
  ): Promise<void> {
    const r = toReference(ref);
    parseDigest(digest);
    await this.#download(r, digest, size, sink);
  }

  // -------------------------------------------------------------------------------------------
  // Manifests

  /** PUTs a manifest under the reference's tag (or digest) and returns its digest. */
  async putManifest(ref: ImageReference | string, body: Uint8Array, mediaType: string): Promise<string> {
    const r = toReference(ref);
    const digest = digestOf(body, r.digest ? parseDigest(r.digest).algorithm : "sha256");
    if (r.digest && r.digest !== digest) {
      throw mismatch(
        `manifest for ${r}`,
        r.digest,
        digest,
        "the reference's digest must be the digest of the manifest bytes",
      );
    }
    const reference = r.tag ?? digest;
    const url = this.#url(r, `manifests/${reference}`);
    const scopes = Scopes.repository(r.repository, ["pull", "push"]);
    await withRetries(this.#policy, async () => {
      const res = await this.#sendOnce(r, scopes, {
        method: "PUT",
        url,
        headers: { "content-type": mediaType },
        body,
      });
      if (res.status !== 201 && res.status !== 200 && res.status !== 204) {
        throw await statusError(res, "PUT", `pushing manifest ${reference}`);
      }
      await discard(res);
      const said = header(res, "docker-content-digest");
      if (said && said.split(":")[0] === digest.split(":")[0] && said !== digest) {
        throw mismatch(`manifest digest reported by ${r.registry}`, digest, said);
      }
    });
    this.#emit({ type: "manifest-put", repository: r.repository, reference, digest, mediaType });
    return digest;
  }

  /** GETs a manifest (or index) and verifies its digest against the reference or the registry's header. */
  async getManifest(ref: ImageReference | string): Promise<{
    /** The manifest's bytes as the registry sent them (at most 16 MiB). */
    body: Uint8Array;
    /** Its media type: the `Content-Type`, or sniffed from the JSON when that is generic or missing. */
    mediaType: string;
    /** Its digest, verified: the reference's digest, else the registry's `Docker-Content-Digest`, else computed. */
    digest: string;
  }> {
    const r = toReference(ref);
    const reference = r.digest ?? r.tag ?? "latest";
    const url = this.#url(r, `manifests/${reference}`);
    const scopes = Scopes.repository(r.repository, ["pull"]);
    return withRetries(this.#policy, async () => {
      const res = await this.#sendOnce(r, scopes, {
        method: "GET",
        url,
        headers: { accept: MANIFEST_ACCEPT },
      });
      if (res.status === 404) {
        await discard(res);
        throw registryError(
          "REGISTRY_NOT_FOUND",
          `manifest ${r} not found`,
          "check the repository and tag (or digest)",
        );
      }
      if (res.status !== 200) throw await statusError(res, "GET", `fetching manifest ${reference}`);
      let body: Buffer;
      try {
        body = await readBody(res, 16 * 1024 * 1024);
      } catch (e) {
        throw isNetworkError(e) ? networkFailure(e as NodeJS.ErrnoException, "GET", url) : e;
      }
      const expected = r.digest ?? header(res, "docker-content-digest");
      let digest = digestOf(body);
      if (expected) {
        const actual = digestOf(body, parseDigest(expected).algorithm);
        if (actual !== expected) throw mismatch(`manifest ${r}`, expected, actual);
        digest = expected;
      }
      const contentType = (header(res, "content-type") ?? "").split(";")[0]!.trim();
      let mediaType = contentType;
      if (!mediaType || mediaType === "application/json" || mediaType === "application/octet-stream") {
        try {
          mediaType = sniffManifestMediaType(JSON.parse(body.toString("utf8")) as object);
        } catch {
          throw registryError(
            "REGISTRY_HTTP",
            `manifest ${r} is not JSON`,
            "the reference does not name an image",
          );
        }
      }
      return { body: new Uint8Array(body), mediaType, digest };
    });
  }

  /** HEADs a manifest: its digest when present, undefined when not. */
  async headManifest(
    ref: ImageReference | string,
    access: Access = "pull",
  ): Promise<
    | {
        /** The registry's `Docker-Content-Digest`, when it sent one. */
        digest?: string;
      }
    | undefined
  > {
    const r = toReference(ref);
    const reference = r.digest ?? r.tag ?? "latest";
    const url = this.#url(r, `manifests/${reference}`);
    const scopes = Scopes.repository(r.repository, access === "push" ? ["pull", "push"] : ["pull"]);
    return withRetries(this.#policy, async () => {
      const res = await this.#sendOnce(r, scopes, {
        method: "HEAD",
        url,
        headers: { accept: MANIFEST_ACCEPT },
      });
      await discard(res);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw await statusError(res, "HEAD", `checking manifest ${reference}`);
      const digest = header(res, "docker-content-digest");
      return digest ? { digest } : {};
    });
  }

  // -------------------------------------------------------------------------------------------
  // Internals: blobs

  async #headBlob(r: ImageReference, digest: string, access: Access): Promise<boolean> {
    const scopes = Scopes.repository(r.repository, access === "push" ? ["pull", "push"] : ["pull"]);
    const res = await this.#sendOnce(r, scopes, { method: "HEAD", url: this.#url(r, `blobs/${digest}`) });
    await discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await statusError(res, "HEAD", `checking blob ${digest}`);
  }

  /** Opens an upload session (or mounts the blob from `from`): "mounted" or the session's URL. */
  async #startUpload(
    r: ImageReference,
    scopes: Scopes,
    desc: BlobDescriptor,
    uploads: URL,
    from: string | undefined,
  ): Promise<URL | "mounted"> {
    const url = new URL(uploads);
    if (from) {
      url.searchParams.set("mount", desc.digest);
      url.searchParams.set("from", from);
    }
    const res = await this.#sendOnce(r, scopes, { method: "POST", url, headers: { "content-length": "0" } });
    if (from && res.status === 201) {
      await discard(res);
      this.#emit({
        type: "blob-mounted",
        repository: r.repository,
        digest: desc.digest,
        size: desc.size,
        from,
      });
      return "mounted";
    }
    if (res.status !== 202) {
      throw await statusError(res, "POST", from ? "mounting blob" : "starting blob upload");
    }
    await discard(res);
    return locationOf(res);
  }

  async #openBlob(r: ImageReference, digest: string): Promise<HttpResponse> {
    const res = await this.#sendOnce(r, Scopes.repository(r.repository, ["pull"]), {
      method: "GET",
      url: this.#url(r, `blobs/${digest}`),
      follow: true,
    });
    if (res.status === 404) {
      await discard(res);
      throw registryError(
        "REGISTRY_NOT_FOUND",
        `blob ${digest} not found in ${r.registry}/${r.repository}`,
        "push the image again",
      );
    }
    if (res.status !== 200) throw await statusError(res, "GET", `fetching blob ${digest}`);
    return res;
  }

  /** Downloads a verified blob through the package's download primitive, retried as a whole. */
  async #download(
    r: ImageReference,
    digest: string,
    size: number | undefined,
    sink: () => NodeJS.WritableStream,
  ): Promise<void> {
    const { algorithm, hex } = parseDigest(digest);
    let total = size ?? 0;
    await download({
      open: async () => {
        const res = await this.#openBlob(r, digest);
        total = size ?? Number(header(res, "content-length") ?? "0");
        let failure: NodeJS.ErrnoException | undefined;
        res.body.once("error", (e: NodeJS.ErrnoException) => {
          failure ??= e;
        });
        return {
          body: res.body,
          url: res.url,
          headers: res.headers,
          timedOut: () => failure?.code === "talos-ext:client-timeout",
          abort: () => res.body.destroy(),
        };
      },
      errors: blobFault(`blob ${digest} from ${r.registry}/${r.repository}`),
      expect: { [algorithm]: hex },
      ...(size !== undefined ? { size } : {}),
      to: { sink },
      retries: this.#policy.retries,
      retryDelayMs: this.#policy.baseDelayMs,
      ...(this.#policy.onRetry ? { onRetry: this.#policy.onRetry } : {}),
      progressStep: PROGRESS_STEP,
      onProgress: (e) =>
        this.#emit({ type: "blob-download", repository: r.repository, digest, bytes: e.bytes, total }),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Internals: HTTP, auth

  #emit(e: ProgressEvent): void {
    try {
      this.#options.onProgress?.(e);
    } catch {
      // A failing progress listener must not break a push.
    }
  }

  #uploadContext(r: ImageReference, scopes: Scopes): UploadContext {
    return {
      registry: r.registry,
      repository: r.repository,
      send: (req) => this.#sendOnce(r, scopes, req),
      emit: (e) => this.#emit(e),
    };
  }

  #insecure(registry: string): boolean {
    const i = this.#options.insecure;
    return i === true || (Array.isArray(i) && i.includes(registry));
  }

  #origin(registry: string): string {
    const host = registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
    return `${this.#insecure(registry) ? "http" : "https"}://${host}`;
  }

  #url(r: ImageReference, tail: string): URL {
    return new URL(`${this.#origin(r.registry)}/v2/${r.repository}/${tail}`);
  }

  #uploadsUrl(r: ImageReference): URL {
    return this.#url(r, "blobs/uploads/");
  }

  #authFor(registry: string): RegistryAuth {
    let a = this.#auth.get(registry);
    if (!a) {
      a = new RegistryAuth(registry, this.#credentials, this.#transport, this.#policy);
      this.#auth.set(registry, a);
    }
    return a;
  }

  /** `GET /v2/` once per registry, anonymously, to learn how it wants us to authenticate. */
  #ping(registry: string): Promise<void> {
    let p = this.#pings.get(registry);
    if (!p) {
      const url = new URL(`${this.#origin(registry)}/v2/`);
      p = withRetries(this.#policy, async () => {
        const res = await this.#transport.send({ method: "GET", url });
        if (res.status === 400 && url.protocol === "http:") {
          // docker-registry's answer to plain HTTP on its TLS port.
          const text = (await readBody(res, 4096).catch(() => Buffer.alloc(0))).toString("utf8");
          if (/HTTPS server/i.test(text)) {
            throw registryError(
              "REGISTRY_TLS",
              `${registry} speaks HTTPS but is marked insecure (plain HTTP)`,
              `remove ${registry} from insecure, and pass caFile if its certificate is private`,
            );
          }
        }
        await discard(res);
        if (isRetryableStatus(res.status)) {
          throw new RetryableError(
            `${res.status} on GET ${displayUrl(url)}`,
            registryError(
              "REGISTRY_HTTP",
              `GET ${displayUrl(url)} answered ${res.status}`,
              "the registry is failing; retry later",
            ),
            retryAfterMs(header(res, "retry-after")),
          );
        }
        this.#authFor(registry).learn(res);
      });
      p.catch(() => this.#pings.delete(registry));
      this.#pings.set(registry, p);
    }
    return p;
  }

  /**
   * One request with authentication: a 401 teaches the challenge (or that a token expired) and
   * the request is sent again, once or twice. Transient failures throw RetryableError.
   */
  async #sendOnce(r: ImageReference, scopes: Scopes, req: SendRequest): Promise<HttpResponse> {
    await this.#ping(r.registry);
    const auth = this.#authFor(r.registry);
    const origin = this.#origin(r.registry);
    const want = scopes.clone();
    for (let authTry = 0; ; authTry++) {
      const authorization = await auth.authorization(want);
      const headers: Record<string, string> = { ...req.headers };
      if (authorization && req.url.origin === origin) headers.authorization = authorization;
      const res = await this.#transport.send({ method: req.method, url: req.url, headers, body: req.body });
      if (res.status === 401) {
        await discard(res);
        const sent = headers.authorization !== undefined;
        if (sent) auth.invalidate(want);
        const learned = auth.learn(res, want);
        // Basic credentials that were refused stay refused; a Bearer token may just have expired.
        if (!learned || authTry >= 2 || (sent && auth.scheme === "basic") || (authTry >= 1 && !sent)) {
          throw await auth.rejected();
        }
        const streamed = req.body !== undefined && !(req.body instanceof Uint8Array);
        // A streamed body is spent; the caller's retry loop starts the upload again.
        if (streamed)
          throw new RetryableError(
            `401 on ${req.method} ${displayUrl(req.url)}`,
            toFinal(await auth.rejected()),
          );
        continue;
      }
      if (res.status === 403) {
        await discard(res);
        throw registryError(
          "REGISTRY_AUTH",
          `${r.registry} denied ${req.method} on ${r.repository}`,
          `the account has no ${scopes.wire().join(" ")} access; check its permissions on ${r.registry}`,
        );
      }
      if (isRetryableStatus(res.status)) {
        const final = await statusError(res, req.method, "registry failure");
        throw new RetryableError(
          `${res.status} on ${req.method} ${displayUrl(req.url)}`,
          final,
          retryAfterMs(header(res, "retry-after")),
        );
      }
      if (req.follow && res.status >= 300 && res.status < 400 && header(res, "location")) {
        return this.#followRedirects(res, req);
      }
      return res;
    }
  }

  async #followRedirects(first: HttpResponse, req: SendRequest): Promise<HttpResponse> {
    let res = first;
    for (let hop = 0; hop < 5; hop++) {
      const loc = header(res, "location");
      if (!(res.status >= 300 && res.status < 400 && loc)) return res;
      await discard(res);
      // Storage URLs carry their own signature; registry credentials never go there.
      const url = new URL(loc, res.url);
      // The download primitive's redirect rules: http(s) only, never https -> http.
      if (
        (url.protocol !== "http:" && url.protocol !== "https:") ||
        (first.url.protocol === "https:" && url.protocol === "http:")
      ) {
        throw registryError(
          "REGISTRY_HTTP",
          `${displayUrl(res.url)} redirects to ${url.protocol === "http:" ? "plain http" : url.protocol}; refused`,
          "the registry's storage must be served over https (or be marked insecure as a whole)",
        );
      }
      res = await this.#transport.send({ method: req.method, url, headers: req.headers ?? {} });
      if (isRetryableStatus(res.status)) {
        const final = await statusError(res, req.method, `following a redirect to ${displayUrl(url)}`);
        throw new RetryableError(
          `${res.status} on ${req.method} ${displayUrl(url)}`,
          final,
          retryAfterMs(header(res, "retry-after")),
        );
      }
    }
    await discard(res);
    throw registryError(
      "REGISTRY_HTTP",
      `too many redirects from ${displayUrl(first.url)}`,
      "the registry's storage redirects are misconfigured",
    );
  }
}

/** `mountFrom` is a repository on the target registry, or a full reference (used only on the same registry). */
function mountSource(from: string, target: ImageReference): string | undefined {
  const first = from.split("/")[0] ?? "";
  const hasRegistry = from.includes("/") && (/[.:]/.test(first) || first === "localhost");
  const ref = parseReference(hasRegistry ? from : `${target.registry}/${from}`);
  return ref.registry === target.registry ? ref.repository : undefined;
}

function toFinal(e: Error): TalosExtError {
  return (e instanceof RetryableError ? e.final : e) as TalosExtError;
}
