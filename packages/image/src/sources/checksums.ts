import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { sourceError } from "./errors.ts";
import type { SourceSpec } from "./types.ts";

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/** `sha256` lower-cased, when it is 64 hex digits. Throws `SOURCE_BAD_CHECKSUM` otherwise. */
export function checkSha256(sha256: unknown, url?: string): string {
  const value = typeof sha256 === "string" ? sha256.toLowerCase() : "";
  if (!HEX64.test(value)) {
    throw sourceError(
      "SOURCE_BAD_CHECKSUM",
      `sha256 ${JSON.stringify(sha256)}${url ? ` of ${url}` : ""} is not 64 hex digits`,
      "Copy the checksum again, e.g. from `sha256sum <file>`.",
    );
  }
  return value;
}

/** `sha512` lower-cased, when it is 128 hex digits. Throws `SOURCE_BAD_CHECKSUM` otherwise. */
export function checkSha512(sha512: unknown, url?: string): string {
  const value = typeof sha512 === "string" ? sha512.toLowerCase() : "";
  if (!HEX128.test(value)) {
    throw sourceError(
      "SOURCE_BAD_CHECKSUM",
      `sha512 ${JSON.stringify(sha512)}${url ? ` of ${url}` : ""} is not 128 hex digits`,
      "Copy the checksum again, e.g. from `sha512sum <file>`.",
    );
  }
  return value;
}

/** Validates a source before any I/O: checksum syntax and a http(s) URL. */
export function checkSpec(src: SourceSpec): {
  /** The source's URL, parsed: http or https, without credentials. */
  url: URL;
  /** The expected sha256, lower-case hex (64 digits). */
  sha256: string;
  /** The expected sha512, lower-case hex (128 digits). */
  sha512: string;
} {
  let url: URL;
  try {
    url = new URL(src.url);
  } catch {
    throw sourceError(
      "SOURCE_BAD_URL",
      `${JSON.stringify(src.url)} is not a URL`,
      "Use an absolute http(s) URL.",
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw sourceError(
      "SOURCE_BAD_URL",
      `${src.url}: only http and https are supported`,
      "Use an http(s) URL.",
    );
  }
  if (url.username || url.password) {
    throw sourceError(
      "SOURCE_BAD_URL",
      `the URL of ${src.destination || "a source"} carries credentials`,
      "Do not put credentials in source URLs; they end up in logs and cache keys.",
    );
  }
  return { url, sha256: checkSha256(src.sha256, src.url), sha512: checkSha512(src.sha512, src.url) };
}

export interface Digests {
  sha256: string;
  sha512: string;
  size: number;
}

/** `digestFile` met something that is not a regular file (`what` says what it is). */
export class CacheEntryNotFile extends Error {
  /** What the entry is instead (a directory, a FIFO, ...). */
  readonly what: string;
  constructor(what: string) {
    super(`not a regular file: ${what}`);
    this.what = what;
  }
}

/**
 * Both digests of a regular file in one streaming pass. The file is opened with O_NOFOLLOW and
 * O_NONBLOCK (a FIFO cannot block the open, a symlink is not followed) and checked with fstat
 * before a byte is read.
 */
export async function digestFile(path: string): Promise<Digests> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP") throw new CacheEntryNotFile("a symbolic link");
    throw err;
  }
  const h256 = createHash("sha256");
  const h512 = createHash("sha512");
  let size = 0;
  try {
    const st = await fh.stat();
    if (!st.isFile())
      throw new CacheEntryNotFile(
        st.isDirectory() ? "a directory" : st.isFIFO() ? "a FIFO" : "a special file",
      );
    for await (const chunk of fh.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
      h256.update(chunk);
      h512.update(chunk);
      size += chunk.length;
    }
  } finally {
    await fh.close();
  }
  return { sha256: h256.digest("hex"), sha512: h512.digest("hex"), size };
}
