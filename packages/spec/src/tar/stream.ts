/**
 * Byte plumbing shared by the tar reader and the OCI layout reader: a pull-based
 * reader over chunked input and transparent gzip/zstd decompression sniffed from magic bytes
 * (media types and file names lie; the first bytes do not).
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { TalosExtError } from "../errors.ts";
import { decompressZstdFrames } from "./zstd-frames.ts";

/** Anything bytes can come from: one buffer, or a (sync or async) sequence of chunks. */
export type ByteSource = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** A compression `openDecompressed` undoes; `none` is plain bytes (`sniffCompression` also names xz, bzip2). */
export type Compression = "none" | "gzip" | "zstd";

/** Maps a low-level failure (zlib, fs) to the caller's error. */
export type ErrorMapper = (cause: unknown) => TalosExtError;

function toAsyncIterator(source: ByteSource): AsyncIterator<Uint8Array> {
  if (source instanceof Uint8Array) {
    let done = false;
    return {
      next: async () => {
        if (done) return { done: true, value: undefined };
        done = true;
        return { done: false, value: source };
      },
    };
  }
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  const it = (source as Iterable<Uint8Array>)[Symbol.iterator]();
  return { next: async () => it.next() };
}

/**
 * Reads exact byte counts from chunked input without concatenating everything: a chunk is sliced,
 * not copied, whenever a read fits inside it.
 */
export class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #mapError: ErrorMapper;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #eof = false;
  /** Bytes consumed so far (read or skipped). */
  position = 0;

  constructor(source: ByteSource, mapError: ErrorMapper) {
    this.#it = toAsyncIterator(source);
    this.#mapError = mapError;
  }

  async #pull(): Promise<boolean> {
    if (this.#eof) return false;
    let r: IteratorResult<Uint8Array>;
    try {
      r = await this.#it.next();
    } catch (e) {
      this.#eof = true;
      if (e instanceof TalosExtError) throw e;
      throw this.#mapError(e);
    }
    if (r.done) {
      this.#eof = true;
      return false;
    }
    const chunk = r.value;
    if (!(chunk instanceof Uint8Array)) {
      this.#eof = true;
      throw this.#mapError(new TypeError("byte source yielded a non-binary chunk"));
    }
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    return true;
  }

  /** True when at least `n` bytes are available. */
  async ensure(n: number): Promise<boolean> {
    while (this.#buffered < n) if (!(await this.#pull())) return false;
    return true;
  }

  /** Up to `n` bytes; fewer only at the end of input. */
  async read(n: number): Promise<Uint8Array> {
    await this.ensure(n);
    return this.#take(Math.min(n, this.#buffered));
  }

  /** Between 1 and `max` bytes, whatever is buffered first (no copy); empty only at the end of input. */
  async readSome(max: number): Promise<Uint8Array> {
    if (max <= 0 || !(await this.ensure(1))) return new Uint8Array(0);
    return this.#take(Math.min(max, this.#chunks[0]!.length));
  }

  /** The next `n` bytes without consuming them (fewer at the end of input). */
  async peek(n: number): Promise<Uint8Array> {
    await this.ensure(n);
    const take = Math.min(n, this.#buffered);
    const first = this.#chunks[0];
    if (first && first.length >= take) return first.subarray(0, take);
    const out = new Uint8Array(take);
    let at = 0;
    for (const c of this.#chunks) {
      if (at >= take) break;
      const part = c.subarray(0, take - at);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /** Skips up to `n` bytes; returns how many were skipped. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.#buffered === 0 && !(await this.#pull())) break;
      const first = this.#chunks[0]!;
      if (first.length <= left) {
        this.#chunks.shift();
        this.#buffered -= first.length;
        left -= first.length;
        this.position += first.length;
      } else {
        this.#chunks[0] = first.subarray(left);
        this.#buffered -= left;
        this.position += left;
        left = 0;
      }
    }
    return n - left;
  }

  /** Everything still buffered plus the rest of the input, as one chunk sequence. */
  async *rest(): AsyncGenerator<Uint8Array> {
    try {
      while (this.#chunks.length > 0 || (await this.#pull())) {
        const chunk = this.#chunks.shift();
        if (!chunk) continue;
        this.#buffered -= chunk.length;
        this.position += chunk.length;
        yield chunk;
      }
    } finally {
      await this.close();
    }
  }

  /** Releases the underlying input (file handles, inflaters) when the caller stops early. */
  async close(): Promise<void> {
    this.#chunks = [];
    this.#buffered = 0;
    if (this.#eof) return;
    this.#eof = true;
    try {
      await this.#it.return?.();
    } catch {
      // Closing is best effort: the input already failed or was torn down.
    }
  }

  #take(n: number): Uint8Array {
    this.position += n;
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (n === 0) return new Uint8Array(0);
    if (first && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.#chunks[0]!;
      const want = n - at;
      if (c.length <= want) {
        out.set(c, at);
        at += c.length;
        this.#chunks.shift();
      } else {
        out.set(c.subarray(0, want), at);
        this.#chunks[0] = c.subarray(want);
        at = n;
      }
    }
    return out;
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const BZIP2_MAGIC = [0x42, 0x5a, 0x68];

const startsWith = (bytes: Uint8Array, magic: number[]) =>
  bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

/** Which compression the first bytes announce; xz and bzip2 are named so callers can refuse them clearly. */
export function sniffCompression(head: Uint8Array): Compression | "xz" | "bzip2" {
  if (startsWith(head, GZIP_MAGIC)) return "gzip";
  if (startsWith(head, ZSTD_MAGIC)) return "zstd";
  if (startsWith(head, XZ_MAGIC)) return "xz";
  if (startsWith(head, BZIP2_MAGIC)) return "bzip2";
  return "none";
}

/**
 * A reader over the decompressed bytes of `source` (gzip and zstd detected from magic bytes;
 * anything else is passed through as is). xz and bzip2 are refused with `unsupportedCode`.
 */
export async function openDecompressed(
  source: ByteSource,
  mapError: ErrorMapper,
  unsupported: (kind: string) => TalosExtError,
): Promise<{
  /** The decompressed bytes (the source itself when it is not compressed). */
  reader: ByteReader;
  /** The compression found from the magic bytes and undone. */
  compression: Compression;
}> {
  const raw = new ByteReader(source, mapError);
  const head = await raw.peek(6);
  const kind = sniffCompression(head);
  if (kind === "none") return { reader: raw, compression: "none" };
  if (kind === "xz" || kind === "bzip2") throw unsupported(kind);
  // zstd: every frame, not only the first (Node's decoder stops after one).
  if (kind === "zstd")
    return { reader: new ByteReader(decompressZstdFrames(raw.rest()), mapError), compression: kind };
  const inflater = createGunzip();
  const input = Readable.from(bufferChunks(raw.rest()), { objectMode: false });
  // The pipeline's own promise only settles when everything is consumed or fails; errors reach
  // the consumer through the inflater's iterator, so the promise's rejection is deliberately dropped.
  pipeline(input, inflater).catch(() => {});
  return { reader: new ByteReader(inflater, mapError), compression: kind };
}

async function* bufferChunks(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const c of chunks) yield Buffer.from(c.buffer, c.byteOffset, c.length);
}

/** Chunks of a file (or a byte range of it: `start` inclusive, `length` bytes). */
export function fileChunks(
  file: string,
  range?: {
    /** Offset of the first byte to read. */
    start: number;
    /** How many bytes to read from `start` (0 reads nothing). */
    length: number;
  },
): AsyncIterable<Uint8Array> {
  if (range && range.length === 0) return (async function* () {})();
  const options = range ? { start: range.start, end: range.start + range.length - 1 } : {};
  return createReadStream(file, options);
}

/** Reads exactly `length` bytes at `offset` of the decompressed stream produced by `open()`. */
export async function readRange(
  open: () => ByteSource,
  offset: number,
  length: number,
  mapError: ErrorMapper,
  unsupported: (kind: string) => TalosExtError,
): Promise<Uint8Array> {
  const { reader } = await openDecompressed(open(), mapError, unsupported);
  const skipped = await reader.skip(offset);
  const data = skipped === offset ? await reader.read(length) : new Uint8Array(0);
  await reader.close();
  if (data.length !== length) throw mapError(new Error("unexpected end of data"));
  // Copy: the slice may pin a large chunk of the stream.
  return data.slice();
}
