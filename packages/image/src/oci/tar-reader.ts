/**
 * A streaming tar reader for ustar, pax and GNU archives (what `docker build --output type=tar`,
 * GNU tar, Go's archive/tar and our own writer produce). Compressed input (gzip, zstd) is
 * recognised by its magic bytes. Paths are checked as they are read: absolute paths, ".."
 * segments, symlinks that climb out of the root, and entries placed below a symlink of the same
 * archive are refused with OCI_PATH_TRAVERSAL, so a caller that extracts entries in order cannot
 * be made to write outside its target directory.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { ociError } from "./errors.ts";
import { checkSymlink, normalizeEntryPath, parentsOf } from "./paths.ts";
import { BLOCK } from "./tar.ts";

export interface TarEntry {
  /** Normalised: relative, no "./" prefix, no trailing "/". */
  path: string;
  type: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";
  mode: number;
  size: number;
  linkTarget?: string;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch (fractions from pax are dropped). */
  mtime: number;
  /** The pax records that applied to this entry (global ones included). */
  pax: Record<string, string>;
  /** The entry's data. Read it before asking for the next entry, or it is skipped. */
  body(): AsyncIterable<Buffer>;
  buffer(): Promise<Buffer>;
}

export type TarInput = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array | NodeJS.ReadableStream;

/** Largest pax / GNU long-name payload we accept; real ones are a few hundred bytes. */
const MAX_META = 1 << 20;

function corrupt(detail: string): Error {
  return ociError(
    "OCI_TAR_CORRUPT",
    `tar archive is corrupt: ${detail}`,
    "Re-create the archive; it may be truncated.",
  );
}

class ByteReader {
  private buffered: Buffer[] = [];
  private length = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  private async fill(n: number): Promise<void> {
    while (this.length < n && !this.done) {
      const next = await this.source.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      if (chunk.length === 0) continue;
      this.buffered.push(chunk);
      this.length += chunk.length;
    }
  }

  private take(n: number): Buffer {
    const out =
      this.buffered.length === 1 || this.buffered[0]!.length >= n ? undefined : Buffer.concat(this.buffered);
    if (out) this.buffered = [out];
    const head = this.buffered[0]!;
    const result = head.subarray(0, n);
    if (head.length === n) this.buffered.shift();
    else this.buffered[0] = head.subarray(n);
    this.length -= n;
    return result;
  }

  /** Exactly n bytes, or null at a clean end of input; a partial read is corruption. */
  async read(n: number): Promise<Buffer | null> {
    await this.fill(n);
    if (this.length === 0 && this.done) return null;
    if (this.length < n) throw corrupt(`unexpected end of data (wanted ${n} bytes, got ${this.length})`);
    return this.take(n);
  }

  /** Up to `max` bytes (at least 1), whatever is at hand; throws at end of input. */
  async readSome(max: number): Promise<Buffer> {
    await this.fill(1);
    if (this.length === 0) throw corrupt("unexpected end of data inside an entry");
    return this.take(Math.min(max, this.buffered[0]!.length));
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) left -= (await this.readSome(left)).length;
  }

  async close(): Promise<void> {
    await this.source.return?.();
  }
}

function toAsyncIterable(input: TarInput): AsyncIterable<Uint8Array> {
  if (input instanceof Uint8Array) {
    return (async function* () {
      yield input;
    })();
  }
  if (Symbol.asyncIterator in (input as object)) return input as AsyncIterable<Uint8Array>;
  if (Symbol.iterator in (input as object)) {
    const it = input as Iterable<Uint8Array>;
    return (async function* () {
      yield* it;
    })();
  }
  return Readable.from(input as NodeJS.ReadableStream) as AsyncIterable<Uint8Array>;
}

/** Peeks at the first bytes and inserts a gunzip or zstd decoder when they are a magic number. */
async function maybeDecompress(input: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Uint8Array>> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let have = 0;
  let ended = false;
  while (have < 4) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    const b = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    head.push(b);
    have += b.length;
  }
  const first = Buffer.concat(head);
  const replay = (async function* () {
    if (first.length > 0) yield first;
    if (ended) return;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  })();
  let decoder: NodeJS.ReadWriteStream | undefined;
  if (first[0] === 0x1f && first[1] === 0x8b) decoder = createGunzip();
  else if (first.length >= 4 && first.readUInt32LE(0) === 0xfd2fb528) decoder = createZstdDecompress();
  if (!decoder) return replay;
  const d = decoder;
  // Errors reach the consumer through the decoder, which pipeline destroys on failure.
  pipeline(Readable.from(replay), d).catch(() => {});
  return d as unknown as AsyncIterable<Uint8Array>;
}

function cString(buf: Buffer, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const nul = field.indexOf(0);
  return (nul === -1 ? field : field.subarray(0, nul)).toString("utf8");
}

/** Octal (NUL/space padded) or GNU base-256 (high bit of the first byte set). */
function parseNumber(buf: Buffer, start: number, length: number, field: string): number {
  const raw = buf.subarray(start, start + length);
  if (raw[0]! & 0x80) {
    if (raw[0] === 0xff) throw corrupt(`negative base-256 ${field}`);
    let value = raw[0]! & 0x7f;
    for (let i = 1; i < raw.length; i++) value = value * 256 + raw[i]!;
    if (!Number.isSafeInteger(value)) throw corrupt(`${field} too large`);
    return value;
  }
  const text = raw
    .toString("latin1")
    .replace(/[\0 ]+$/, "")
    .replace(/^[ ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw corrupt(`bad octal ${field} ${JSON.stringify(text)}`);
  return Number.parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  const stored = parseNumber(header, 148, 8, "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : header[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    if (space === -1) throw corrupt("pax record without a length");
    const len = Number.parseInt(data.subarray(pos, space).toString("latin1"), 10);
    if (!Number.isSafeInteger(len) || len <= space - pos || pos + len > data.length)
      throw corrupt("bad pax record length");
    const record = data.subarray(space + 1, pos + len);
    if (record[record.length - 1] !== 0x0a) throw corrupt("pax record does not end in a newline");
    const text = record.subarray(0, record.length - 1).toString("utf8");
    const eq = text.indexOf("=");
    if (eq <= 0) throw corrupt("pax record without a key");
    out[text.slice(0, eq)] = text.slice(eq + 1);
    pos += len;
  }
  return out;
}

const TYPES: Record<string, TarEntry["type"]> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

export interface ReadTarOptions {
  /** Detect gzip/zstd input by its magic bytes (default true). */
  decompress?: boolean;
}

/**
 * Yields the entries of a tar archive in archive order. The archive's root ("./") is skipped.
 * Each entry's data must be read (`body()` / `buffer()`) before the next entry is requested;
 * data not read by then is skipped.
 */
export async function* readTarEntries(
  input: TarInput,
  options: ReadTarOptions = {},
): AsyncGenerator<TarEntry> {
  let source = toAsyncIterable(input);
  if (options.decompress !== false) source = await maybeDecompress(source);
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  const globalPax: Record<string, string> = {};
  let localPax: Record<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  const symlinks = new Set<string>();
  try {
    for (;;) {
      const header = await reader.read(BLOCK);
      if (!header) break; // no end-of-archive blocks: accepted, as GNU tar does
      if (header.every((b) => b === 0)) break;
      if (!checksumOk(header)) throw corrupt("header checksum mismatch");
      const typeflag = String.fromCharCode(header[156]!);
      const size = parseNumber(header, 124, 12, "size");
      const readMeta = async (): Promise<Buffer> => {
        if (size > MAX_META) throw corrupt(`metadata entry of ${size} bytes`);
        const data = size === 0 ? Buffer.alloc(0) : ((await reader.read(size)) ?? Buffer.alloc(0));
        if (data.length !== size) throw corrupt("truncated metadata entry");
        await reader.skip((BLOCK - (size % BLOCK)) % BLOCK);
        return data;
      };
      if (typeflag === "x") {
        localPax = parsePax(await readMeta());
        continue;
      }
      if (typeflag === "g") {
        Object.assign(globalPax, parsePax(await readMeta()));
        continue;
      }
      if (typeflag === "L" || typeflag === "K") {
        const data = await readMeta();
        const nul = data.indexOf(0);
        const value = (nul === -1 ? data : data.subarray(0, nul)).toString("utf8");
        if (typeflag === "L") longName = value;
        else longLink = value;
        continue;
      }
      const type = TYPES[typeflag];
      if (!type) {
        throw ociError(
          "OCI_TAR_UNSUPPORTED",
          `tar entry type ${JSON.stringify(typeflag)} (${cString(header, 0, 100)}) is not supported`,
          "Re-create the archive without sparse files, multi-volume or dump entries (e.g. GNU tar --format=pax).",
        );
      }
      const pax = { ...globalPax, ...localPax };
      const magic = header.subarray(257, 263).toString("latin1");
      let rawName = cString(header, 0, 100);
      // POSIX ustar splits long names into prefix + name; the old GNU format uses those bytes for times.
      if (magic === "ustar\0") {
        const prefix = cString(header, 345, 155);
        if (prefix) rawName = `${prefix}/${rawName}`;
      }
      rawName = pax.path ?? longName ?? rawName;
      const rawLink = pax.linkpath ?? longLink ?? cString(header, 157, 100);
      localPax = undefined;
      longName = undefined;
      longLink = undefined;

      const entrySize = type === "file" ? (pax.size !== undefined ? Number(pax.size) : size) : 0;
      if (!Number.isSafeInteger(entrySize) || entrySize < 0) throw corrupt(`bad size for ${rawName}`);
      // Like Go's archive/tar: only regular files carry data, whatever the size field says.
      const dataSize = type === "file" ? entrySize : 0;
      const path = normalizeEntryPath(rawName, "tar entry");
      const num = (key: string, offset: number, len: number, field: string) =>
        pax[key] !== undefined ? Math.floor(Number(pax[key])) : parseNumber(header, offset, len, field);

      let consumed = 0;
      let active = true;
      const body = async function* (): AsyncGenerator<Buffer> {
        if (!active) throw new Error("tar entry body read after moving to the next entry");
        while (consumed < entrySize) {
          const chunk = await reader.readSome(entrySize - consumed);
          consumed += chunk.length;
          yield chunk;
        }
      };
      if (path === "") {
        // The archive root ("./"); it has no data of its own.
        await reader.skip(dataSize + ((BLOCK - (dataSize % BLOCK)) % BLOCK));
        continue;
      }
      for (const parent of parentsOf(path)) {
        if (symlinks.has(parent)) {
          throw ociError(
            "OCI_PATH_TRAVERSAL",
            `tar entry ${path} is placed below the symlink ${parent}`,
            "The archive tries to write through a symlink; do not use it.",
          );
        }
      }
      const entry: TarEntry = {
        path,
        type,
        mode: parseNumber(header, 100, 8, "mode") & 0o7777,
        size: entrySize,
        uid: num("uid", 108, 8, "uid"),
        gid: num("gid", 116, 8, "gid"),
        uname: pax.uname ?? cString(header, 265, 32),
        gname: pax.gname ?? cString(header, 297, 32),
        mtime: num("mtime", 136, 12, "mtime"),
        pax,
        body,
        async buffer() {
          const parts: Buffer[] = [];
          for await (const chunk of body()) parts.push(chunk);
          return Buffer.concat(parts);
        },
      };
      if (type === "symlink") {
        checkSymlink(path, rawLink, "tar entry");
        entry.linkTarget = rawLink;
        symlinks.add(path);
      } else if (type === "hardlink") {
        entry.linkTarget = normalizeEntryPath(rawLink, `tar hard link ${path}`);
        if (entry.linkTarget === "") {
          throw ociError(
            "OCI_PATH_TRAVERSAL",
            `hard link ${path} targets the archive root`,
            "Do not use this archive.",
          );
        }
      } else {
        symlinks.delete(path);
      }
      yield entry;
      active = false;
      await reader.skip(dataSize - consumed + ((BLOCK - (dataSize % BLOCK)) % BLOCK));
    }
  } finally {
    await reader.close();
  }
}
