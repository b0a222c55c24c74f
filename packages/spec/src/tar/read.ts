/**
 * The project's one tar reader: ustar, pax and GNU archives (long names, sparse headers), plain,
 * gzip or zstd (sniffed from the first bytes). It streams: memory is bounded by one chunk plus
 * extended headers (capped), whatever the archive's size, and an entry's data is read only when
 * the caller asks for it, before moving on.
 *
 * Every member passes one path policy, so no caller can forget it:
 * - `extract` refuses, with the caller's codes: absolute names, any `..`, relative symlinks that
 *   climb above the root, members placed below a symlink of the same archive, and hard links to
 *   a missing or later member, to a directory, or through a symlink.
 * - `validate` reports the same faults as findings, as Talos would see them: `a/../b` is `b`
 *   (Go's `filepath.Join`); a member whose name leaves the root, or that would be written through
 *   a symlink, is reported and not yielded (extraction would put it somewhere else); the others
 *   are reported and yielded.
 */
import { TalosExtError } from "../errors.ts";
import { EXT_TAR_CODES, type TarErrorCodes } from "./codes.ts";
import { parentsOf, splitArchiveName, symlinkEscapes } from "./paths.ts";
import { type ByteReader, type ByteSource, type Compression, openDecompressed } from "./stream.ts";

/** What a tar member is. */
export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** One member of an archive, as `readTar` yields it. */
export interface TarEntry {
  /** Normalised relative POSIX path: no leading `./` or `/`, no trailing `/`, no `.`/`..` parts. */
  path: string;
  /** The name as stored (after pax / GNU long-name overrides), before normalisation. */
  rawPath: string;
  /** The member's type; vendor type flags read as `file`, as POSIX says. */
  type: TarEntryType;
  /** Permission bits including set-uid/set-gid/sticky (`0o7777`). */
  mode: number;
  /** Owner id (pax `uid` wins over the header). */
  uid: number;
  /** Group id (pax `gid` wins over the header). */
  gid: number;
  /** Owner name (pax `uname` wins over the header); empty when none. */
  uname: string;
  /** Group name (pax `gname` wins over the header); empty when none. */
  gname: string;
  /** Seconds since the epoch (fractions from pax are dropped). */
  mtime: number;
  /** Size of the file's content (the real size for sparse files); 0 for header-only types. */
  size: number;
  /** Symlink target as stored, or the normalised archive path a hard link points at. */
  linkTarget?: string;
  /** Device major number (char and block devices). */
  devmajor?: number;
  /** Device minor number (char and block devices). */
  devminor?: number;
  /** Offset of the entry's data in the decompressed tar stream (for reading it back later). */
  dataOffset: number;
  /** Bytes stored in the archive for this entry (differs from `size` for sparse files). */
  storedSize: number;
  /** GNU sparse file: its stored form is packed, so `body()` refuses to read it. */
  sparse?: boolean;
  /** Effective pax records (global merged with local). */
  pax: Record<string, string>;
  /**
   * The entry's data, in chunks. Read it before asking for the next entry: what is not read by
   * then is skipped, and reading afterwards throws.
   */
  body(): AsyncIterable<Uint8Array>;
  /** The entry's data as one copy (check `size` first: it is held in memory). */
  bytes(): Promise<Uint8Array>;
}

/** `extract` refuses unsafe members; `validate` reports them as findings (see the module doc). */
export type TarPathPolicy = "extract" | "validate";

/** One fault `validate` found in an archive's paths or links. */
export interface TarFinding {
  /** Which fault it is (also the key of its code in `TarErrorCodes`). */
  fault: keyof TarErrorCodes;
  /** The member's normalised path, or its raw name when it has none. */
  path: string;
  /** Whether the member was still yielded (false: extraction would put it elsewhere). */
  yielded: boolean;
  /** The error `extract` would have thrown (code from the caller's `codes`). */
  error: TalosExtError;
}

/** Options of `readTar`. */
export interface ReadTarOptions {
  /** Name used in error locations (a file path, or e.g. `image.tar@sha256:…`). */
  source?: string;
  /** Path policy; default `extract` (refuse). `validate` needs `onFinding`. */
  policy?: TarPathPolicy;
  /** Receives every path or link fault under the `validate` policy. */
  onFinding?: (finding: TarFinding) => void;
  /** Error codes for each fault; default `EXT_TAR_CODES`. */
  codes?: TarErrorCodes;
  /** Called once the compression is known. */
  onCompression?: (compression: Compression) => void;
}

const BLOCK = 512;
/** pax and GNU long-name payloads above this are refused: real ones are a few hundred bytes. */
const MAX_META = 1 << 20;
const MAX_HOPS = 64;

const utf8 = new TextDecoder("utf-8");

function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return utf8.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

const isZero = (block: Uint8Array) => block.every((b) => b === 0);

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

/** Header parsing bound to one archive's error codes and name. */
class Fields {
  readonly source: string;
  readonly codes: TarErrorCodes;
  constructor(source: string, codes: TarErrorCodes) {
    this.source = source;
    this.codes = codes;
  }

  corrupt(message: string, offset?: number): TalosExtError {
    return new TalosExtError({
      code: this.codes.corrupt,
      message: offset === undefined ? message : `${message} (at byte ${offset})`,
      hint: "the archive is truncated or not a tar file; re-create it (e.g. `tar -cf`) and check the download",
      location: { file: this.source },
    });
  }

  unsupported(message: string, hint: string): TalosExtError {
    return new TalosExtError({
      code: this.codes.unsupported,
      message,
      hint,
      location: { file: this.source },
    });
  }

  fault(kind: keyof TarErrorCodes, message: string, hint: string): TalosExtError {
    return new TalosExtError({ code: this.codes[kind], message, hint, location: { file: this.source } });
  }

  /** Numeric header field: octal text, or GNU base-256 when the high bit is set. */
  numeric(field: Uint8Array, what: string, at: number): number {
    if (field.length > 0 && (field[0]! & 0x80) !== 0) {
      // Base-256: two's complement big-endian with the marker bit removed.
      let v = BigInt(field[0]! & 0x7f);
      const negative = (field[0]! & 0x40) !== 0;
      for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i]!);
      if (negative) v -= 1n << BigInt(field.length * 8 - 1);
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw this.corrupt(`tar header field ${what} is out of range`, at);
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
    if (!/^[0-7]+$/.test(text)) throw this.corrupt(`tar header field ${what} is not octal: "${text}"`, at);
    const v = Number.parseInt(text, 8);
    if (!Number.isSafeInteger(v)) throw this.corrupt(`tar header field ${what} is out of range`, at);
    return v;
  }

  checksumOk(block: Uint8Array, at: number): boolean {
    const stored = this.numeric(block.subarray(148, 156), "chksum", at);
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < BLOCK; i++) {
      const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
      unsigned += b;
      signed += b > 127 ? b - 256 : b;
    }
    return stored === unsigned || stored === signed;
  }

  /** Parses pax records: `"<len> <key>=<value>\n"`, where len counts the whole record. */
  pax(data: Uint8Array, at: number): Record<string, string> {
    const out: Record<string, string> = {};
    let i = 0;
    while (i < data.length) {
      // Trailing NUL padding after the last record is tolerated.
      if (data[i] === 0) break;
      const space = data.indexOf(0x20, i);
      if (space === -1 || space - i > 20) throw this.corrupt("malformed pax record length", at);
      const lenText = utf8.decode(data.subarray(i, space));
      if (!/^[0-9]+$/.test(lenText)) throw this.corrupt("malformed pax record length", at);
      const len = Number(lenText);
      const end = i + len;
      if (len <= space - i + 1 || end > data.length || data[end - 1] !== 0x0a) {
        throw this.corrupt("malformed pax record", at);
      }
      const record = data.subarray(space + 1, end - 1);
      const eq = record.indexOf(0x3d);
      if (eq <= 0) throw this.corrupt("malformed pax record: missing keyword", at);
      const key = utf8.decode(record.subarray(0, eq));
      out[key] = utf8.decode(record.subarray(eq + 1));
      i = end;
    }
    return out;
  }

  paxNumber(value: string, key: string, at: number): number {
    if (!/^-?[0-9]+(\.[0-9]*)?$/.test(value)) throw this.corrupt(`pax ${key} "${value}" is not a number`, at);
    const n = Math.trunc(Number(value));
    if (!Number.isSafeInteger(n)) throw this.corrupt(`pax ${key} is out of range`, at);
    return n;
  }
}

/**
 * Remembers what the archive created so far, so later members can be checked against it: a
 * member below a symlink, a hard link to something that is not (yet) there.
 */
class PathState {
  readonly #types = new Map<string, TarEntryType>();

  /** The first parent of `path` that is a symlink of this archive, if any. */
  symlinkParent(path: string): string | undefined {
    for (const parent of parentsOf(path)) if (this.#types.get(parent) === "symlink") return parent;
    return undefined;
  }

  type(path: string): TarEntryType | undefined {
    return this.#types.get(path);
  }

  add(path: string, type: TarEntryType) {
    this.#types.set(path, type);
  }
}

/**
 * Yields every member of a tar archive (plain, gzip or zstd), in archive order. Only
 * `TalosExtError`s are thrown, with the codes of `options.codes`: corrupt and unsupported input
 * always; path and link faults under the `extract` policy.
 */
export async function* readTar(input: ByteSource, options: ReadTarOptions = {}): AsyncGenerator<TarEntry> {
  const source = options.source ?? "<tar>";
  const f = new Fields(source, options.codes ?? EXT_TAR_CODES);
  const validate = options.policy === "validate";
  const onFinding = options.onFinding;
  if (validate && !onFinding) throw new TypeError("readTar: the validate policy needs onFinding");
  /** Extract: throw. Validate: report; the caller then yields the member or skips it. */
  const fault = (finding: Omit<TarFinding, "error">, message: string, hint: string) => {
    const error = f.fault(finding.fault, message, hint);
    if (!validate) throw error;
    onFinding!({ ...finding, error });
  };

  const { reader, compression } = await openDecompressed(
    input,
    (cause) =>
      new TalosExtError({
        code: f.codes.corrupt,
        message: `cannot read archive: ${cause instanceof Error ? cause.message : String(cause)}`,
        hint: "the archive is truncated or corrupt; re-create it and check the download",
        location: { file: source },
        cause,
      }),
    (kind) =>
      f.unsupported(
        `${kind}-compressed archives are not supported`,
        "use a plain, gzip or zstd compressed tar",
      ),
  );
  options.onCompression?.(compression);
  const state = new PathState();
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
          throw f.corrupt("archive ends after an extended header", at);
        }
        return;
      }
      if (block.length < BLOCK) throw f.corrupt("unexpected end of archive in a header", at);
      if (isZero(block)) {
        const next = await reader.read(BLOCK);
        if (next.length === 0 || isZero(next)) return;
        throw f.corrupt("unexpected zero block inside the archive", at);
      }
      if (!f.checksumOk(block, at)) throw f.corrupt("invalid tar header checksum", at);

      const magic = utf8.decode(block.subarray(257, 263));
      const version = utf8.decode(block.subarray(263, 265));
      const ustar = magic === "ustar\0" && version === "00";
      const gnu = magic === "ustar " && version === " \0";
      const flag = block[156]!;
      const flagChar = String.fromCharCode(flag);
      let storedSize = f.numeric(block.subarray(124, 136), "size", at);
      if (storedSize < 0) throw f.corrupt("negative entry size", at);

      // Metadata members that describe the next header.
      if (flagChar === "x" || flagChar === "g" || flagChar === "L" || flagChar === "K") {
        if (++metaHops > MAX_HOPS) throw f.corrupt("too many consecutive extended headers", at);
        if (storedSize > MAX_META) throw f.corrupt(`extended header of ${storedSize} bytes is too large`, at);
        const data = await reader.read(storedSize);
        if (data.length < storedSize) throw f.corrupt("unexpected end of archive in an extended header", at);
        await skipPadding(reader, storedSize, f, at);
        if (flagChar === "x") local = { ...(local ?? {}), ...f.pax(data, at) };
        else if (flagChar === "g") {
          globals = { ...globals, ...f.pax(data, at) };
          for (const [k, v] of Object.entries(globals)) if (v === "") delete globals[k];
        } else if (flagChar === "L") longName = cString(data);
        else longLink = cString(data);
        continue;
      }
      if (flagChar === "M") {
        throw f.unsupported("multi-volume tar archives are not supported", "create a single-volume archive");
      }
      metaHops = 0;

      const kind = entryType(flag);
      if (kind === undefined) throw f.corrupt(`unknown tar entry type 0x${flag.toString(16)}`, at);

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
      if (pax.size !== undefined) storedSize = f.paxNumber(pax.size, "size", at);
      if (storedSize < 0) throw f.corrupt("negative entry size", at);

      let sparse = false;
      let size = storedSize;
      if (flagChar === "S") {
        sparse = true;
        if (gnu) size = f.numeric(block.subarray(483, 495), "realsize", at);
        // Old GNU sparse headers may continue in extension blocks, before the data.
        let extended = block[482] !== 0;
        let hops = 0;
        while (extended) {
          if (++hops > MAX_HOPS * 1024) throw f.corrupt("too many sparse extension blocks", at);
          const ext = await reader.read(BLOCK);
          if (ext.length < BLOCK) throw f.corrupt("unexpected end of archive in a sparse header", at);
          extended = ext[504] !== 0;
        }
      }
      if (pax["GNU.sparse.name"] !== undefined) name = pax["GNU.sparse.name"];
      const real = pax["GNU.sparse.realsize"] ?? pax["GNU.sparse.size"];
      if (real !== undefined) {
        sparse = true;
        size = f.paxNumber(real, "GNU.sparse.realsize", at);
        if (size < 0) throw f.corrupt("negative sparse file size", at);
      }
      local = undefined;
      longName = undefined;
      longLink = undefined;

      if (kind === "skip") {
        await skipData(reader, storedSize, f, at);
        continue;
      }
      // Go's archive/tar: link, device, directory and fifo headers carry no data whatever their
      // size field says (a GNU dump-dir does).
      if (HEADER_ONLY.has(kind) && flagChar !== "D") {
        storedSize = 0;
        size = 0;
      }
      const type: TarEntryType = kind;

      // The path policy. A member it drops is skipped like unread data.
      const yielded = checkMember(type, name, link, validate, state, fault);
      if (yielded === undefined) {
        await skipData(reader, storedSize, f, at);
        continue;
      }
      const { path, linkTarget } = yielded;
      if (path === "") {
        // The archive root itself (`./`): nothing to extract.
        await skipData(reader, storedSize, f, at);
        continue;
      }
      state.add(path, type);

      let consumed = 0;
      let active = true;
      const dataStart = reader.position;
      const body = async function* (): AsyncGenerator<Uint8Array> {
        if (!active) throw new Error(`tar entry ${path}: body read after moving to the next entry`);
        if (sparse) {
          throw f.unsupported(
            `${source}:${path} is stored as a sparse file, which cannot be read back`,
            "create the archive without --sparse",
          );
        }
        while (consumed < storedSize) {
          const chunk = await reader.readSome(storedSize - consumed);
          if (chunk.length === 0) throw f.corrupt("unexpected end of archive in entry data", at);
          consumed += chunk.length;
          yield chunk;
        }
      };
      const entry: TarEntry = {
        path,
        rawPath: name,
        type,
        mode: f.numeric(block.subarray(100, 108), "mode", at) & 0o7777,
        uid:
          pax.uid !== undefined
            ? f.paxNumber(pax.uid, "uid", at)
            : f.numeric(block.subarray(108, 116), "uid", at),
        gid:
          pax.gid !== undefined
            ? f.paxNumber(pax.gid, "gid", at)
            : f.numeric(block.subarray(116, 124), "gid", at),
        uname: pax.uname ?? (ustar || gnu ? cString(block.subarray(265, 297)) : ""),
        gname: pax.gname ?? (ustar || gnu ? cString(block.subarray(297, 329)) : ""),
        mtime:
          pax.mtime !== undefined
            ? f.paxNumber(pax.mtime, "mtime", at)
            : f.numeric(block.subarray(136, 148), "mtime", at),
        size: type === "dir" ? 0 : size,
        dataOffset: dataStart,
        storedSize,
        pax,
        body,
        async bytes() {
          const parts: Uint8Array[] = [];
          for await (const chunk of body()) parts.push(chunk);
          // A copy: a slice would pin the stream's whole chunk.
          return parts.length === 1 ? parts[0]!.slice() : Buffer.concat(parts);
        },
      };
      if (linkTarget !== undefined) entry.linkTarget = linkTarget;
      if (type === "char" || type === "block") {
        entry.devmajor = f.numeric(block.subarray(329, 337), "devmajor", at);
        entry.devminor = f.numeric(block.subarray(337, 345), "devminor", at);
      }
      if (sparse) entry.sparse = true;
      yield entry;
      active = false;
      await skipData(reader, storedSize - consumed, f, at, storedSize);
    }
  } finally {
    await reader.close();
  }
}

type FaultReporter = (finding: Omit<TarFinding, "error">, message: string, hint: string) => void;

/**
 * Applies the path policy to one member. Returns its normalised path (and link target), or
 * undefined when `validate` drops it; under `extract` every fault throws from `fault`.
 */
function checkMember(
  type: TarEntryType,
  name: string,
  link: string,
  validate: boolean,
  state: PathState,
  fault: FaultReporter,
): { path: string; linkTarget?: string } | undefined {
  const split = splitArchiveName(name, validate);
  const quoted = JSON.stringify(name);
  if ("problem" in split) {
    if (split.problem === "nul") {
      fault(
        { fault: "entry", path: name, yielded: false },
        `archive entry ${quoted} has a NUL byte in its name`,
        "rename the file",
      );
    } else {
      fault(
        { fault: "traversal", path: name, yielded: false },
        split.problem === "absolute"
          ? `archive entry ${quoted} has an absolute path`
          : split.problem === "parent"
            ? `archive entry ${quoted} contains ".."`
            : `archive entry ${quoted} escapes the extraction root`,
        split.problem === "absolute"
          ? "create the archive from inside the directory it holds (e.g. `tar -C dir -cf x.tar .`)"
          : "an archive may not contain `..` components that leave its root; rebuild it without them",
      );
    }
    return undefined;
  }
  const path = split.path;
  if (path === "") {
    if (type !== "dir") {
      fault(
        { fault: "entry", path: name, yielded: false },
        `archive entry ${quoted} has no name`,
        "rebuild the archive",
      );
    }
    return { path };
  }
  const through = state.symlinkParent(path);
  if (through !== undefined) {
    fault(
      { fault: "throughSymlink", path, yielded: false },
      `archive entry ${path} is written through the symlink ${through} of the same archive`,
      "an archive may not place entries below one of its own symlinks (extraction would follow it, possibly out of the root); use the real directory path",
    );
    return undefined;
  }
  if (type === "symlink") {
    if (link === "" || link.includes("\0")) {
      fault(
        { fault: "entry", path, yielded: true },
        `symlink ${path} has ${link === "" ? "an empty target" : "a NUL byte in its target"}`,
        "give the symlink a valid target",
      );
    } else if (symlinkEscapes(path, link)) {
      fault(
        { fault: "symlinkEscape", path, yielded: true },
        `symlink ${path} -> ${link} points outside the archive root`,
        "make the link target stay inside the tree (or use an absolute target, which resolves inside the image)",
      );
    }
    return { path, linkTarget: link };
  }
  if (type === "hardlink") {
    const target = splitArchiveName(link, validate);
    if ("problem" in target || target.path === "") {
      fault(
        { fault: "traversal", path, yielded: false },
        "problem" in target
          ? `hard link ${path} -> ${JSON.stringify(link)} points outside the archive root`
          : `hard link ${path} targets the archive root`,
        "a hard link must name an earlier member of the archive",
      );
      return undefined;
    }
    const targetPath = target.path;
    const targetType = state.type(targetPath);
    const via = state.symlinkParent(targetPath);
    let problem: string | undefined;
    if (via !== undefined) problem = `goes through the symlink ${via}`;
    else if (targetType === undefined) problem = "names no earlier member of the archive";
    else if (targetType === "dir") problem = "names a directory";
    if (problem !== undefined) {
      fault(
        { fault: "hardlink", path, yielded: true },
        `hard link ${path} -> ${targetPath} ${problem}`,
        "a hard link must name an earlier non-directory member by its real path; Talos's extractor turns hard links into empty files, so ship a copy or a symlink instead",
      );
    }
    return { path, linkTarget: targetPath };
  }
  return { path };
}

async function skipPadding(reader: ByteReader, size: number, f: Fields, at: number) {
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  if (pad === 0) return;
  // Go's archive/tar (so crane and the Talos imager) reads an archive that ends right after the
  // last entry's data as complete; some writers (umoci 0.4) produce exactly that.
  const skipped = await reader.skip(pad);
  if (skipped > 0 && skipped < pad) throw f.corrupt("unexpected end of archive in padding", at);
}

/** Skips `left` bytes of data, then the padding of a `total`-byte member. */
async function skipData(reader: ByteReader, left: number, f: Fields, at: number, total = left) {
  if ((await reader.skip(left)) < left) throw f.corrupt("unexpected end of archive in entry data", at);
  await skipPadding(reader, total, f, at);
}
