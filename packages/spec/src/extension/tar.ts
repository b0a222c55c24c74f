/**
 * A streaming tar reader (ustar, pax, GNU long names; plain, gzip or zstd) that yields metadata and
 * byte offsets, keeping file data in memory only when asked. Shared with the build side, so it
 * enforces the one rule every consumer needs: no entry may land outside the extraction root.
 */
import { TalosExtError } from "../errors.ts";
import { type ByteSource, type Compression, openDecompressed } from "./stream.ts";

export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface TarEntry {
  /** Normalised relative POSIX path: no leading `./` or `/`, no trailing `/`, no `.`/`..` parts. */
  path: string;
  /** The name as stored (after pax / GNU long-name overrides), before normalisation. */
  rawPath: string;
  type: TarEntryType;
  /** Permission bits including set-uid/set-gid/sticky (`0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Size of the file's content (the real size for sparse files); 0 for header-only types. */
  size: number;
  /** Symlink target as stored, or the normalised path a hardlink points at. */
  linkTarget?: string;
  devmajor?: number;
  devminor?: number;
  /** Offset of the entry's data in the decompressed tar stream. */
  dataOffset: number;
  /** Bytes stored in the archive for this entry (differs from `size` for sparse files). */
  storedSize: number;
  /** The entry's data, present when `keep` returned true. */
  data?: Uint8Array;
  /** GNU sparse file: `data` would be the packed form, so it is never kept. */
  sparse?: boolean;
  /** Effective pax records (global merged with local). */
  pax?: Record<string, string>;
}

export interface ReadTarOptions {
  /** Name used in error locations (a file path, or e.g. `image.tar@sha256:…`). */
  source?: string;
  /** Whether to keep an entry's data in memory (`entry.data`); asked for regular files only. */
  keep?: (entry: TarEntry) => boolean;
  /** Called once the compression is known. */
  onCompression?: (compression: Compression) => void;
}

const BLOCK = 512;
/** pax and GNU long-name payloads above this are refused: real ones are a few hundred bytes. */
const MAX_META = 1 << 20;
const MAX_HOPS = 64;

const utf8 = new TextDecoder("utf-8");

function tarError(source: string, message: string, offset?: number): TalosExtError {
  return new TalosExtError({
    code: "EXT_TAR_INVALID",
    message: offset === undefined ? message : `${message} (at byte ${offset})`,
    hint: "the archive is truncated or not a tar file; re-create it (e.g. `tar -cf`) and check the download",
    location: { file: source },
  });
}

/**
 * Normalises an archive member name. Absolute names and names that climb out of the root with
 * `..` are refused (`EXT_PATH_TRAVERSAL`); `a/../b` is accepted as `b`.
 */
export function normalizeArchivePath(raw: string, source = "<archive>"): string {
  if (raw.startsWith("/")) {
    throw new TalosExtError({
      code: "EXT_PATH_TRAVERSAL",
      message: `archive entry "${raw}" has an absolute path`,
      hint: "create the archive from inside the extension directory (e.g. `tar -C dir -cf x.tar .`)",
      location: { file: source },
    });
  }
  const out: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) {
        throw new TalosExtError({
          code: "EXT_PATH_TRAVERSAL",
          message: `archive entry "${raw}" escapes the extraction root`,
          hint: "an archive may not contain `..` components that leave its root; rebuild it without them",
          location: { file: source },
        });
      }
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join("/");
}

function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return utf8.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

/** Numeric header field: octal text, or GNU base-256 when the high bit is set. */
function parseNumeric(field: Uint8Array, what: string, source: string, at: number): number {
  if (field.length > 0 && (field[0]! & 0x80) !== 0) {
    // Base-256: two's complement big-endian with the marker bit removed.
    let v = BigInt(field[0]! & 0x7f);
    const negative = (field[0]! & 0x40) !== 0;
    for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i]!);
    if (negative) v -= 1n << BigInt(field.length * 8 - 1);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw tarError(source, `tar header field ${what} is out of range`, at);
    }
    return Number(v);
  }
  let text = "";
  for (const b of field) {
    if (b === 0) break;
    text += String.fromCharCode(b);
  }
  text = text.trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw tarError(source, `tar header field ${what} is not octal: "${text}"`, at);
  const v = Number.parseInt(text, 8);
  if (!Number.isSafeInteger(v)) throw tarError(source, `tar header field ${what} is out of range`, at);
  return v;
}

function checksumOk(block: Uint8Array, source: string, at: number): boolean {
  const stored = parseNumeric(block.subarray(148, 156), "chksum", source, at);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

const isZero = (block: Uint8Array) => block.every((b) => b === 0);

/** Parses pax records: `"<len> <key>=<value>\n"`, where len counts the whole record. */
function parsePax(data: Uint8Array, source: string, at: number): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    // Trailing NUL padding after the last record is tolerated.
    if (data[i] === 0) break;
    const space = data.indexOf(0x20, i);
    if (space === -1 || space - i > 20) throw tarError(source, "malformed pax record length", at);
    const lenText = utf8.decode(data.subarray(i, space));
    if (!/^[0-9]+$/.test(lenText)) throw tarError(source, "malformed pax record length", at);
    const len = Number(lenText);
    const end = i + len;
    if (len <= space - i + 1 || end > data.length || data[end - 1] !== 0x0a) {
      throw tarError(source, "malformed pax record", at);
    }
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw tarError(source, "malformed pax record: missing keyword", at);
    const key = utf8.decode(record.subarray(0, eq));
    out[key] = utf8.decode(record.subarray(eq + 1));
    i = end;
  }
  return out;
}

function paxNumber(value: string, key: string, source: string, at: number): number {
  if (!/^-?[0-9]+(\.[0-9]*)?$/.test(value))
    throw tarError(source, `pax ${key} "${value}" is not a number`, at);
  const n = Math.trunc(Number(value));
  if (!Number.isSafeInteger(n)) throw tarError(source, `pax ${key} is out of range`, at);
  return n;
}

const HEADER_ONLY: ReadonlySet<TarEntryType> = new Set([
  "hardlink",
  "symlink",
  "char",
  "block",
  "dir",
  "fifo",
]);

function entryType(flag: number): TarEntryType | "skip" | undefined {
  switch (String.fromCharCode(flag)) {
    case "0":
    case "\0":
    case "7":
    case "S":
      return "file";
    case "1":
      return "hardlink";
    case "2":
      return "symlink";
    case "3":
      return "char";
    case "4":
      return "block";
    case "5":
    case "D":
      return "dir";
    case "6":
      return "fifo";
    case "V":
    case "N":
      return "skip";
    default:
      // POSIX: unknown (vendor) type flags are read as regular files.
      return flag >= 0x41 && flag <= 0x5a ? "file" : undefined;
  }
}

/**
 * Yields every member of a tar archive (plain, gzip or zstd), in archive order. Only
 * `TalosExtError`s are thrown: `EXT_TAR_INVALID` (malformed or truncated), `EXT_TAR_UNSUPPORTED`
 * (xz/bzip2, multi-volume) and `EXT_PATH_TRAVERSAL`.
 */
export async function* readTar(input: ByteSource, options: ReadTarOptions = {}): AsyncGenerator<TarEntry> {
  const source = options.source ?? "<tar>";
  const { reader, compression } = await openDecompressed(
    input,
    (cause) =>
      new TalosExtError({
        code: "EXT_TAR_INVALID",
        message: `cannot read archive: ${cause instanceof Error ? cause.message : String(cause)}`,
        hint: "the archive is truncated or corrupt; re-create it and check the download",
        location: { file: source },
        cause,
      }),
    (kind) =>
      new TalosExtError({
        code: "EXT_TAR_UNSUPPORTED",
        message: `${kind}-compressed archives are not supported`,
        hint: "use a plain, gzip or zstd compressed tar",
        location: { file: source },
      }),
  );
  options.onCompression?.(compression);
  try {
    let globals: Record<string, string> = {};
    let local: Record<string, string> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    let metaHops = 0;

    for (;;) {
      const at = reader.position;
      const block = await reader.read(BLOCK);
      if (block.length === 0) {
        if (local || longName !== undefined || longLink !== undefined) {
          throw tarError(source, "archive ends after an extended header", at);
        }
        return;
      }
      if (block.length < BLOCK) throw tarError(source, "unexpected end of archive in a header", at);
      if (isZero(block)) {
        const next = await reader.read(BLOCK);
        if (next.length === 0 || isZero(next)) return;
        throw tarError(source, "unexpected zero block inside the archive", at);
      }
      if (!checksumOk(block, source, at)) throw tarError(source, "invalid tar header checksum", at);

      const magic = utf8.decode(block.subarray(257, 263));
      const version = utf8.decode(block.subarray(263, 265));
      const ustar = magic === "ustar\0" && version === "00";
      const gnu = magic === "ustar " && version === " \0";
      const flag = block[156]!;
      const flagChar = String.fromCharCode(flag);
      let storedSize = parseNumeric(block.subarray(124, 136), "size", source, at);
      if (storedSize < 0) throw tarError(source, "negative entry size", at);

      // Metadata members that describe the next header.
      if (flagChar === "x" || flagChar === "g" || flagChar === "L" || flagChar === "K") {
        if (++metaHops > MAX_HOPS) throw tarError(source, "too many consecutive extended headers", at);
        if (storedSize > MAX_META)
          throw tarError(source, `extended header of ${storedSize} bytes is too large`, at);
        const data = await reader.read(storedSize);
        if (data.length < storedSize)
          throw tarError(source, "unexpected end of archive in an extended header", at);
        await skipPadding(reader, storedSize, source, at);
        if (flagChar === "x") local = { ...(local ?? {}), ...parsePax(data, source, at) };
        else if (flagChar === "g") {
          globals = { ...globals, ...parsePax(data, source, at) };
          for (const [k, v] of Object.entries(globals)) if (v === "") delete globals[k];
        } else if (flagChar === "L") longName = cString(data);
        else longLink = cString(data);
        continue;
      }
      if (flagChar === "M") {
        throw new TalosExtError({
          code: "EXT_TAR_UNSUPPORTED",
          message: "multi-volume tar archives are not supported",
          hint: "create a single-volume archive",
          location: { file: source },
        });
      }
      metaHops = 0;

      const kind = entryType(flag);
      if (kind === undefined) throw tarError(source, `unknown tar entry type 0x${flag.toString(16)}`, at);

      const pax: Record<string, string> = { ...globals, ...(local ?? {}) };
      for (const [k, v] of Object.entries(local ?? {})) if (v === "") delete pax[k];

      let name = cString(block.subarray(0, 100));
      if (ustar) {
        const prefix = cString(block.subarray(345, 500));
        if (prefix !== "") name = `${prefix}/${name}`;
      }
      if (longName !== undefined) name = longName;
      if (pax.path !== undefined) name = pax.path;
      let link = cString(block.subarray(157, 257));
      if (longLink !== undefined) link = longLink;
      if (pax.linkpath !== undefined) link = pax.linkpath;
      if (pax.size !== undefined) storedSize = paxNumber(pax.size, "size", source, at);
      if (storedSize < 0) throw tarError(source, "negative entry size", at);

      let sparse = false;
      let size = storedSize;
      if (flagChar === "S") {
        sparse = true;
        if (gnu) size = parseNumeric(block.subarray(483, 495), "realsize", source, at);
        // Old GNU sparse headers may continue in extension blocks, before the data.
        let extended = block[482] !== 0;
        let hops = 0;
        while (extended) {
          if (++hops > MAX_HOPS * 1024) throw tarError(source, "too many sparse extension blocks", at);
          const ext = await reader.read(BLOCK);
          if (ext.length < BLOCK) throw tarError(source, "unexpected end of archive in a sparse header", at);
          extended = ext[504] !== 0;
        }
      }
      if (pax["GNU.sparse.name"] !== undefined) name = pax["GNU.sparse.name"];
      const real = pax["GNU.sparse.realsize"] ?? pax["GNU.sparse.size"];
      if (real !== undefined) {
        sparse = true;
        size = paxNumber(real, "GNU.sparse.realsize", source, at);
        if (size < 0) throw tarError(source, "negative sparse file size", at);
      }
      local = undefined;
      longName = undefined;
      longLink = undefined;

      if (kind === "skip") {
        await skipData(reader, storedSize, source, at);
        continue;
      }
      // Go's archive/tar: link, device, directory and fifo headers carry no data whatever their
      // size field says (a GNU dump-dir does).
      if (HEADER_ONLY.has(kind) && flagChar !== "D") {
        storedSize = 0;
        size = 0;
      }

      const type: TarEntryType = kind;
      const path = normalizeArchivePath(name, source);
      if (path === "") {
        // The archive root itself (`./`): nothing to extract.
        if (type !== "dir") throw tarError(source, `archive entry "${name}" has no name`, at);
        await skipData(reader, storedSize, source, at);
        continue;
      }
      const entry: TarEntry = {
        path,
        rawPath: name,
        type,
        mode: parseNumeric(block.subarray(100, 108), "mode", source, at) & 0o7777,
        uid:
          pax.uid !== undefined
            ? paxNumber(pax.uid, "uid", source, at)
            : parseNumeric(block.subarray(108, 116), "uid", source, at),
        gid:
          pax.gid !== undefined
            ? paxNumber(pax.gid, "gid", source, at)
            : parseNumeric(block.subarray(116, 124), "gid", source, at),
        mtime:
          pax.mtime !== undefined
            ? paxNumber(pax.mtime, "mtime", source, at)
            : parseNumeric(block.subarray(136, 148), "mtime", source, at),
        size: type === "dir" ? 0 : size,
        dataOffset: reader.position,
        storedSize,
      };
      if (type === "symlink") entry.linkTarget = link;
      if (type === "hardlink") entry.linkTarget = normalizeArchivePath(link, source);
      if (type === "char" || type === "block") {
        entry.devmajor = parseNumeric(block.subarray(329, 337), "devmajor", source, at);
        entry.devminor = parseNumeric(block.subarray(337, 345), "devminor", source, at);
      }
      if (sparse) entry.sparse = true;
      if (Object.keys(pax).length > 0) entry.pax = pax;

      if (type === "file" && !sparse && storedSize > 0 && options.keep?.(entry)) {
        const data = await reader.read(storedSize);
        if (data.length < storedSize) throw tarError(source, "unexpected end of archive in entry data", at);
        entry.data = data.slice();
        await skipPadding(reader, storedSize, source, at);
      } else {
        await skipData(reader, storedSize, source, at);
      }
      yield entry;
    }
  } finally {
    await reader.close();
  }
}

async function skipPadding(
  reader: { skip(n: number): Promise<number> },
  size: number,
  source: string,
  at: number,
) {
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  if (pad === 0) return;
  // Go's archive/tar (so crane and the Talos imager) reads an archive that ends right after the
  // last entry's data as complete; some writers (umoci 0.4) produce exactly that.
  const skipped = await reader.skip(pad);
  if (skipped > 0 && skipped < pad) throw tarError(source, "unexpected end of archive in padding", at);
}

async function skipData(
  reader: { skip(n: number): Promise<number> },
  size: number,
  source: string,
  at: number,
) {
  if ((await reader.skip(size)) < size) throw tarError(source, "unexpected end of archive in entry data", at);
  await skipPadding(reader, size, source, at);
}
