/**
 * Upload strategies for one blob: monolithic (one streamed PUT, the default) and chunked (PATCH
 * chunks, then a PUT). Both hash the bytes on the way and hold the last block back until size and
 * digest matched, so a corrupt local source never completes an upload.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open as openFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { RetryableError } from "../net/index.ts";
import type { BlobDescriptor, BlobSource, ProgressEvent } from "./client.ts";
import { mismatch, parseDigest } from "./digest.ts";
import { displayUrl, registryError } from "./errors.ts";
import { type BodySink, type BodyWriter, discard, type HttpResponse, header, toReadable } from "./http.ts";
import { statusError } from "./status-errors.ts";

/** What an upload needs from the client: authenticated requests to one repository, events. */
export interface UploadContext {
  registry: string;
  repository: string;
  /** One authenticated request (retryable failures throw RetryableError). */
  send(req: {
    method: string;
    url: URL;
    headers?: Record<string, string>;
    body?: Uint8Array | Readable | BodyWriter;
  }): Promise<HttpResponse>;
  emit(e: ProgressEvent): void;
}

const PROGRESS_STEP = 1024 * 1024;
/**
 * Local files are read in blocks this large into a few reused buffers: fewer reads, socket writes
 * and callbacks than a 64 KiB stream, and no garbage (a fresh buffer per chunk costs GC and page
 * faults, which on a loaded machine take CPU from the registry we are feeding).
 */
const FILE_BLOCK = 2 * 1024 * 1024;
const FILE_BUFFERS = 3;

/** The upload session URL a registry answered with. */
export function locationOf(res: HttpResponse): URL {
  const loc = header(res, "location");
  if (!loc) {
    throw registryError(
      "REGISTRY_HTTP",
      `${displayUrl(res.url)} answered ${res.status} without a Location header`,
      "the registry does not follow the OCI distribution spec",
    );
  }
  return new URL(loc, res.url);
}

export async function uploadMonolithic(
  ctx: UploadContext,
  desc: BlobDescriptor,
  open: BlobSource,
  location: URL,
): Promise<void> {
  const progress = uploadProgress(ctx, desc);
  const res = await ctx.send({
    method: "PUT",
    url: withDigestParam(location, desc.digest),
    headers: { "content-type": "application/octet-stream", "content-length": String(desc.size) },
    // Opened only once the request is under way, so nothing is left open if it never starts.
    body: async (sink) => {
      const source = open();
      if (isFileSource(source)) await sendFile(sink, source.path, desc, progress);
      else await sendStream(sink, toReadable(source), desc, progress);
    },
  });
  await finishUpload(res, desc);
  progress(desc.size, true);
}

export async function uploadChunked(
  ctx: UploadContext,
  desc: BlobDescriptor,
  open: BlobSource,
  start: URL,
  chunkSize: number,
): Promise<void> {
  const hash = createHash(parseDigest(desc.digest).algorithm);
  let location = start;
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingSize = 0;
  const flush = async () => {
    if (pendingSize === 0) return;
    const chunk = Buffer.concat(pending, pendingSize);
    pending = [];
    pendingSize = 0;
    const res = await ctx.send({
      method: "PATCH",
      url: location,
      headers: {
        "content-type": "application/octet-stream",
        "content-range": `${offset}-${offset + chunk.length - 1}`,
      },
      body: chunk,
    });
    if (res.status !== 202) throw await statusError(res, "PATCH", `uploading blob ${desc.digest}`);
    await discard(res);
    location = locationOf(res);
    offset += chunk.length;
    // The registry says how much it holds; anything else means the session is off track.
    const range = /^(?:bytes=)?0-(\d+)$/.exec(header(res, "range") ?? "");
    if (range && Number(range[1]) !== offset - 1) {
      throw new RetryableError(
        `registry holds ${Number(range[1]) + 1} of ${offset} bytes of ${desc.digest}`,
        registryError(
          "REGISTRY_HTTP",
          `chunked upload of ${desc.digest} to ${ctx.registry} lost data (registry range ${range[0]}, sent ${offset} bytes)`,
          "retry; if it persists, upload without chunkSize",
        ),
      );
    }
    ctx.emit({
      type: "blob-upload",
      repository: ctx.repository,
      digest: desc.digest,
      bytes: offset,
      total: desc.size,
    });
  };
  ctx.emit({
    type: "blob-upload",
    repository: ctx.repository,
    digest: desc.digest,
    bytes: 0,
    total: desc.size,
  });
  let seen = 0;
  const source = open();
  const file = isFileSource(source) ? source.path : undefined;
  const stream = isFileSource(source)
    ? createReadStream(source.path, { highWaterMark: FILE_BLOCK })
    : toReadable(source);
  for await (const piece of stream as AsyncIterable<Buffer | string>) {
    let buf = typeof piece === "string" ? Buffer.from(piece) : piece;
    seen += buf.length;
    if (seen > desc.size)
      throw localMismatch(desc, "is larger than its descriptor", `${desc.size} bytes`, "more", file);
    hash.update(buf);
    while (buf.length > 0) {
      const take = Math.min(buf.length, chunkSize - pendingSize);
      pending.push(buf.subarray(0, take));
      pendingSize += take;
      buf = buf.subarray(take);
      if (pendingSize === chunkSize) await flush();
    }
  }
  if (seen !== desc.size) throw localMismatch(desc, "size", `${desc.size} bytes`, `${seen} bytes`, file);
  // Earlier chunks may already be with the registry, but nothing is committed before the PUT.
  checkDigest(hash, desc, file);
  await flush();
  const res = await ctx.send({
    method: "PUT",
    url: withDigestParam(location, desc.digest),
    headers: { "content-type": "application/octet-stream" },
    body: new Uint8Array(0),
  });
  await finishUpload(res, desc);
}

async function finishUpload(res: HttpResponse, desc: BlobDescriptor): Promise<void> {
  if (res.status !== 201 && res.status !== 204) {
    throw await statusError(res, "PUT", `completing upload of ${desc.digest}`);
  }
  await discard(res);
  const said = header(res, "docker-content-digest");
  if (said && said !== desc.digest && said.split(":")[0] === desc.digest.split(":")[0]) {
    throw mismatch(`blob digest reported by the registry`, desc.digest, said);
  }
}

/** Reports upload progress: at 0, then every PROGRESS_STEP bytes, and once at the end (`last`). */
function uploadProgress(ctx: UploadContext, desc: BlobDescriptor): (bytes: number, last?: boolean) => void {
  let reported = 0;
  const emit = (bytes: number) =>
    ctx.emit({
      type: "blob-upload",
      repository: ctx.repository,
      digest: desc.digest,
      bytes,
      total: desc.size,
    });
  emit(0);
  return (bytes, last = false) => {
    if (last ? bytes !== reported || bytes === 0 : bytes - reported >= PROGRESS_STEP) {
      reported = bytes;
      emit(bytes);
    }
  };
}

function withDigestParam(location: URL, digest: string): URL {
  const url = new URL(location);
  // Appended by hand: re-serialising the registry's opaque `_state` could change its encoding.
  url.search = `${url.search ? `${url.search}&` : "?"}digest=${encodeURIComponent(digest)}`;
  return url;
}

function isFileSource(source: ReturnType<BlobSource>): source is { path: string } {
  return (
    !(source instanceof Uint8Array) &&
    typeof (source as { path?: unknown }).path === "string" &&
    typeof (source as { pipe?: unknown }).pipe !== "function" &&
    typeof (source as { getReader?: unknown }).getReader !== "function"
  );
}

function localMismatch(desc: BlobDescriptor, what: string, expected: string, actual: string, file?: string) {
  const e = mismatch(
    `blob ${desc.digest} (local source${file ? ` ${file}` : ""}) ${what}`,
    expected,
    actual,
    "the local copy is corrupt (it does not match its descriptor); rewrite it with its producer",
  );
  return file ? registryError(e.code as "REGISTRY_DIGEST_MISMATCH", e.message, e.hint ?? "", { file }) : e;
}

function checkDigest(hash: Hash, desc: BlobDescriptor, file?: string): void {
  const actual = `${parseDigest(desc.digest).algorithm}:${hash.digest("hex")}`;
  if (actual !== desc.digest) throw localMismatch(desc, "digest", desc.digest, actual, file);
}

/**
 * Sends a stream of exactly `desc.size` bytes, hashing it on the way. The latest chunk is held
 * back until the next one arrives, and the last one until the stream ended with the right size
 * and digest: a corrupt source never reaches the registry as a complete body, so the upload
 * cannot be committed.
 */
async function sendStream(
  sink: BodySink,
  source: Readable,
  desc: BlobDescriptor,
  progress: (bytes: number) => void,
): Promise<void> {
  const hash = createHash(parseDigest(desc.digest).algorithm);
  let seen = 0;
  let sent = 0;
  let held: Buffer | undefined;
  try {
    for await (const piece of source as AsyncIterable<Buffer | string | Uint8Array>) {
      const buf = typeof piece === "string" ? Buffer.from(piece) : piece;
      if (buf.length === 0) continue;
      seen += buf.length;
      if (seen > desc.size)
        throw localMismatch(desc, "is larger than its descriptor", `${desc.size} bytes`, "more");
      hash.update(buf);
      if (held) {
        await sink.write(held);
        sent += held.length;
        progress(sent);
      }
      held = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    }
  } finally {
    source.destroy();
  }
  if (seen !== desc.size) throw localMismatch(desc, "size", `${desc.size} bytes`, `${seen} bytes`);
  checkDigest(hash, desc);
  if (held) await sink.write(held);
}

/**
 * Sends a local file of exactly `desc.size` bytes: positional reads into FILE_BUFFERS reused
 * buffers, each refilled once the socket has taken its previous block, so reading, hashing and
 * sending overlap without allocating. The last block is sent only after the digest matched.
 */
async function sendFile(
  sink: BodySink,
  path: string,
  desc: BlobDescriptor,
  progress: (bytes: number) => void,
): Promise<void> {
  const fh = await openFile(path, "r");
  const writes: Array<Promise<void> | undefined> = [];
  try {
    const { size } = await fh.stat();
    if (size !== desc.size) throw localMismatch(desc, "size", `${desc.size} bytes`, `${size} bytes`, path);
    const hash = createHash(parseDigest(desc.digest).algorithm);
    const block = Math.max(1, Math.min(FILE_BLOCK, desc.size));
    const buffers: Buffer[] = [];
    let pos = 0;
    for (let i = 0; pos < desc.size; i++) {
      const slot = i % FILE_BUFFERS;
      // The block that last used this buffer must be on its way before the buffer is refilled.
      await writes[slot];
      const buf = (buffers[slot] ??= Buffer.allocUnsafeSlow(block));
      const { bytesRead } = await fh.read(buf, 0, Math.min(block, desc.size - pos), pos);
      if (bytesRead === 0) throw localMismatch(desc, "size", `${desc.size} bytes`, `${pos} bytes`, path);
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      pos += bytesRead;
      if (pos === desc.size) checkDigest(hash, desc, path);
      const sent = pos;
      const w = sink.write(chunk).then(() => progress(sent));
      // Awaited when the slot is reused or at the end; a failure must not go unhandled meanwhile.
      w.catch(() => {});
      writes[slot] = w;
    }
    if (desc.size === 0) checkDigest(hash, desc, path);
    await Promise.all(writes);
  } finally {
    // Nothing may still be writing from our buffers when the file is closed and they are dropped.
    await Promise.allSettled(writes);
    await fh.close();
  }
}
