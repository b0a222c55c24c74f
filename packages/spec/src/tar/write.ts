/**
 * The project's one tar writer: header encoding for POSIX ustar with pax extended headers only
 * when a field does not fit. `entryHeader` is deterministic (every byte a function of the entry
 * and the epoch: owner 0:0, empty user/group names, one fixed mtime, fixed pax header names);
 * `tarHeader` encodes any header, which tests use to build hostile archives byte by byte.
 */
import { TalosExtError } from "../errors.ts";

/** Size of a tar block (headers and data padding come in these). */
export const TAR_BLOCK = 512;
const BLOCK = TAR_BLOCK;
/** Largest value an 11-digit octal field holds: 8 GiB - 1. */
const MAX_OCTAL_11 = 8 ** 11 - 1;
const NAME_LEN = 100;

/** The member types the deterministic writer emits. */
export type TarWriteType = "file" | "dir" | "symlink" | "hardlink";

const TYPEFLAG: Record<TarWriteType, string> = { file: "0", hardlink: "1", symlink: "2", dir: "5" };

/** Every field of one header block, for `tarHeader`. */
export interface TarHeaderFields {
  /** Stored as is in the 100-byte name field (cut at 100 bytes). */
  name: string;
  /** Permission bits. */
  mode: number;
  /** The size field (may lie, for tests). */
  size: number;
  /** Seconds since the epoch; default 0. */
  mtime?: number;
  /** One character: "0" file, "1" hard link, "2" symlink, "5" dir, "x" pax, "L" GNU long name, … */
  typeflag: string;
  /** The 100-byte link name field. */
  linkname?: string;
  /** Owner and group ids; default 0. */
  uid?: number;
  /** Group id; default 0. */
  gid?: number;
  /** ustar prefix field (155 bytes), joined to the name by readers with a "/". */
  prefix?: string;
  /** Write GNU magic (`ustar  \0`) instead of POSIX `ustar\000`. */
  gnu?: boolean;
}

function writeString(buf: Buffer, offset: number, length: number, value: string | Buffer): void {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  bytes.copy(buf, offset, 0, Math.min(length, bytes.length));
}

/** Zero-padded octal with a trailing NUL, filling the whole field. */
function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8).padStart(length - 1, "0");
  if (digits.length > length - 1) throw new Error(`tar: ${value} does not fit a ${length}-byte field`);
  buf.write(`${digits}\0`, offset, "latin1");
}

/** Cuts a UTF-8 string to at most `max` bytes without splitting a character. */
function truncateUtf8(value: string, max: number): Buffer {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** Encodes one header block into `buf` at `offset` (512 bytes, overwritten whole). */
function encodeHeader(h: TarHeaderFields, buf: Buffer = Buffer.alloc(BLOCK), offset = 0): Buffer {
  buf.fill(0, offset, offset + BLOCK);
  writeString(buf, offset, NAME_LEN, truncateUtf8(h.name, NAME_LEN));
  writeOctal(buf, offset + 100, 8, h.mode);
  writeOctal(buf, offset + 108, 8, h.uid ?? 0);
  writeOctal(buf, offset + 116, 8, h.gid ?? 0);
  writeOctal(buf, offset + 124, 12, h.size);
  writeOctal(buf, offset + 136, 12, h.mtime ?? 0);
  buf.fill(0x20, offset + 148, offset + 156); // checksum is computed with its own field as spaces
  buf.write(h.typeflag, offset + 156, "latin1");
  writeString(buf, offset + 157, NAME_LEN, truncateUtf8(h.linkname ?? "", NAME_LEN));
  buf.write(h.gnu ? "ustar  \0" : "ustar\u000000", offset + 257, "latin1");
  // uname/gname (265, 297) stay empty; devmajor/devminor are zero.
  writeOctal(buf, offset + 329, 8, 0);
  writeOctal(buf, offset + 337, 8, 0);
  if (h.prefix) writeString(buf, offset + 345, 155, truncateUtf8(h.prefix, 155));
  let sum = 0;
  for (let i = offset; i < offset + BLOCK; i++) sum += buf[i]!;
  buf.write(`${sum.toString(8).padStart(6, "0")}\0 `, offset + 148, "latin1");
  return buf;
}

/**
 * One header block with exactly the given fields (nothing validated, nothing added): for tests
 * and tools that need archives whose every byte they control. Writers of real archives use
 * `entryHeader`.
 */
export function tarHeader(fields: TarHeaderFields): Buffer {
  return encodeHeader(fields);
}

/** One pax record: "<len> <key>=<value>\n", where <len> counts itself. */
export function paxRecord(key: string, value: string): Buffer {
  const body = Buffer.byteLength(` ${key}=${value}\n`, "utf8");
  const digits = String(body).length;
  let len = body + digits;
  if (String(len).length > digits) len = body + String(len).length;
  return Buffer.from(`${len} ${key}=${value}\n`, "utf8");
}

/** Zero bytes that pad `size` bytes of data to a whole number of 512-byte blocks. */
export function paddingSize(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}

/** The zero bytes themselves (see `paddingSize`). */
export function padding(size: number): Buffer {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem);
}

/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

/** What `entryHeader` needs of a member: a normalised path, its type, mode and link target. */
export interface TarHeaderEntry {
  /** Relative path without a trailing "/" (one is added for directories). */
  path: string;
  /** Member type. */
  type: TarWriteType;
  /** Permission bits (file type bits are dropped). */
  mode: number;
  /** Symlink target, or the path a hard link points at. */
  linkTarget?: string | undefined;
}

function checkMtime(mtime: number): void {
  if (mtime > MAX_OCTAL_11 || mtime < 0 || !Number.isInteger(mtime)) {
    throw new TalosExtError({
      code: "OCI_BAD_EPOCH",
      message: `SOURCE_DATE_EPOCH ${mtime} cannot be stored in a tar header`,
      hint: "Use a whole number of seconds between 0 and 8589934591.",
    });
  }
}

function mainHeader(entry: TarHeaderEntry, name: string, linkname: string, size: number, mtime: number) {
  return {
    name,
    mode: entry.mode & 0o7777,
    size: size > MAX_OCTAL_11 ? 0 : size,
    mtime,
    typeflag: TYPEFLAG[entry.type],
    linkname,
  };
}

/**
 * Header block(s) for one entry: a pax header first when the path or link name is longer than
 * the 100-byte ustar fields, or the size is 8 GiB or more. The pax header's own name and fields
 * are fixed so the output stays deterministic.
 */
export function entryHeader(entry: TarHeaderEntry, size: number, mtime: number): Buffer[] {
  const name = entry.type === "dir" ? `${entry.path}/` : entry.path;
  const linkname = entry.linkTarget ?? "";
  const records: Buffer[] = [];
  if (Buffer.byteLength(name, "utf8") > NAME_LEN) records.push(paxRecord("path", name));
  if (Buffer.byteLength(linkname, "utf8") > NAME_LEN) records.push(paxRecord("linkpath", linkname));
  if (size > MAX_OCTAL_11) records.push(paxRecord("size", String(size)));
  checkMtime(mtime);
  const out: Buffer[] = [];
  if (records.length > 0) {
    const paxBody = Buffer.concat(records);
    const base = entry.path.slice(entry.path.lastIndexOf("/") + 1);
    out.push(
      encodeHeader({
        name: `PaxHeaders/${base}`,
        mode: 0o644,
        size: paxBody.length,
        mtime,
        typeflag: "x",
        linkname: "",
      }),
      paxBody,
      padding(paxBody.length),
    );
  }
  out.push(encodeHeader(mainHeader(entry, name, linkname, size, mtime)));
  return out;
}

/**
 * Writes the entry's header straight into `buf` at `offset` (512 bytes of room) when it is a
 * single ustar block, the common case, and returns true; returns false, writing nothing, when
 * the entry needs pax records (then use `entryHeader`). The bytes are the same either way.
 */
export function entryHeaderInto(
  buf: Buffer,
  offset: number,
  entry: TarHeaderEntry,
  size: number,
  mtime: number,
): boolean {
  const name = entry.type === "dir" ? `${entry.path}/` : entry.path;
  const linkname = entry.linkTarget ?? "";
  // A UTF-8 string has at least as many bytes as UTF-16 code units: short strings need a count.
  if (name.length > NAME_LEN || Buffer.byteLength(name, "utf8") > NAME_LEN) return false;
  if (linkname.length > NAME_LEN || Buffer.byteLength(linkname, "utf8") > NAME_LEN) return false;
  if (size > MAX_OCTAL_11) return false;
  checkMtime(mtime);
  encodeHeader(mainHeader(entry, name, linkname, size, mtime), buf, offset);
  return true;
}
