/**
 * A deterministic tar writer (POSIX ustar, with pax extended headers only when a field does not
 * fit). Every byte is a function of the entry list and the epoch: owner 0:0, empty user/group
 * names, one fixed mtime, no atime/ctime, fixed pax header names.
 */
import { ociError } from "./errors.ts";
import type { FsEntry } from "./types.ts";

export const BLOCK = 512;
/** Largest value an 11-digit octal field holds: 8 GiB - 1. */
const MAX_OCTAL_11 = 8 ** 11 - 1;
const NAME_LEN = 100;

const TYPEFLAG: Record<FsEntry["type"], string> = { file: "0", hardlink: "1", symlink: "2", dir: "5" };

interface HeaderFields {
  name: string;
  mode: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
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

function encodeHeader(h: HeaderFields): Buffer {
  const buf = Buffer.alloc(BLOCK);
  writeString(buf, 0, NAME_LEN, truncateUtf8(h.name, NAME_LEN));
  writeOctal(buf, 100, 8, h.mode);
  writeOctal(buf, 108, 8, 0); // uid
  writeOctal(buf, 116, 8, 0); // gid
  writeOctal(buf, 124, 12, h.size);
  writeOctal(buf, 136, 12, h.mtime);
  buf.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  buf.write(h.typeflag, 156, "latin1");
  writeString(buf, 157, NAME_LEN, truncateUtf8(h.linkname, NAME_LEN));
  buf.write("ustar\u000000", 257, "latin1");
  // uname/gname (265, 297) stay empty; devmajor/devminor are zero.
  writeOctal(buf, 329, 8, 0);
  writeOctal(buf, 337, 8, 0);
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return buf;
}

/** One pax record: "<len> <key>=<value>\n", where <len> counts itself. */
export function paxRecord(key: string, value: string): Buffer {
  const body = Buffer.byteLength(` ${key}=${value}\n`, "utf8");
  const digits = String(body).length;
  let len = body + digits;
  if (String(len).length > digits) len = body + String(len).length;
  return Buffer.from(`${len} ${key}=${value}\n`, "utf8");
}

export function padding(size: number): Buffer {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem);
}

/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

/**
 * Header block(s) for one entry: a pax header first when the path or link name is longer than
 * the 100-byte ustar fields, or the size is 8 GiB or more. The pax header's own name and fields
 * are fixed so the output stays deterministic.
 */
export function entryHeader(
  entry: { path: string; type: FsEntry["type"]; mode: number; linkTarget?: string | undefined },
  size: number,
  mtime: number,
): Buffer[] {
  const name = entry.type === "dir" ? `${entry.path}/` : entry.path;
  const linkname = entry.linkTarget ?? "";
  const records: Buffer[] = [];
  if (Buffer.byteLength(name, "utf8") > NAME_LEN) records.push(paxRecord("path", name));
  if (Buffer.byteLength(linkname, "utf8") > NAME_LEN) records.push(paxRecord("linkpath", linkname));
  if (size > MAX_OCTAL_11) records.push(paxRecord("size", String(size)));
  if (mtime > MAX_OCTAL_11 || mtime < 0 || !Number.isInteger(mtime)) {
    throw ociError(
      "OCI_BAD_EPOCH",
      `SOURCE_DATE_EPOCH ${mtime} cannot be stored in a tar header`,
      "Use a whole number of seconds between 0 and 8589934591.",
    );
  }
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
  out.push(
    encodeHeader({
      name,
      mode: entry.mode & 0o7777,
      size: size > MAX_OCTAL_11 ? 0 : size,
      mtime,
      typeflag: TYPEFLAG[entry.type],
      linkname,
    }),
  );
  return out;
}
