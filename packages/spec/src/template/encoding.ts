/**
 * The parts of Go's encoding/base64, encoding/base32, hash/adler32 and crypto hashes that sprig's
 * `b64dec`, `b32enc`, `b32dec`, `adler32sum` and `sha*sum` use. Decoded bytes that are not valid
 * UTF-8 are kept (as in Go) with the escapes of `decodeUtf8Faithful`.
 */
import { createHash } from "node:crypto";
import { decodeUtf8Faithful } from "../utf8.ts";
import { utf8 } from "./strconv.ts";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** encoding/base64 StdEncoding.DecodeString; errors are returned as Go's message text. */
export function base64Decode(s: string): string {
  const src = utf8(s);
  const out: number[] = [];
  let si = 0;
  const corrupt = (at: number) => `illegal base64 data at input byte ${at}`;
  for (;;) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let j = 0;
    let trailing: string | null = null;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return decodeUtf8Faithful(Buffer.from(out));
        return corrupt(si - j);
      }
      const c = src[si]!;
      si++;
      const d = B64.indexOf(String.fromCharCode(c));
      if (d >= 0 && c < 0x80) {
        dbuf[j] = d;
        continue;
      }
      if (c === 0x0a || c === 0x0d) {
        j--;
        continue;
      }
      if (c !== 0x3d) return corrupt(si - 1);
      if (j === 0 || j === 1) return corrupt(si - 1);
      if (j === 2) {
        while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
        if (si === src.length) return corrupt(src.length);
        if (src[si] !== 0x3d) return corrupt(si - 1);
        si++;
      }
      while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
      if (si < src.length) trailing = corrupt(si);
      dlen = j;
      break;
    }
    const val = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    out.push(...bytes.slice(0, dlen - 1));
    if (trailing) return trailing;
    if (dlen < 4) return decodeUtf8Faithful(Buffer.from(out));
  }
}

/** encoding/base32 StdEncoding.EncodeToString. */
export function base32Encode(s: string): string {
  const b = utf8(s);
  let out = "";
  for (let i = 0; i < b.length; i += 5) {
    const chunk = b.subarray(i, i + 5);
    let bits = 0n;
    for (let k = 0; k < 5; k++) bits = (bits << 8n) | BigInt(chunk[k] ?? 0);
    const nchars = Math.ceil((chunk.length * 8) / 5);
    for (let k = 0; k < 8; k++) {
      out += k < nchars ? B32[Number((bits >> BigInt(35 - 5 * k)) & 31n)] : "=";
    }
  }
  return out;
}

/** encoding/base32 StdEncoding.DecodeString; errors are returned as Go's message text. */
export function base32Decode(s: string): string {
  const src = utf8(s.replace(/[\r\n]/g, ""));
  if (src.length % 8 !== 0) return `illegal base32 data at input byte ${src.length - (src.length % 8)}`;
  const out: number[] = [];
  for (let i = 0; i < src.length; i += 8) {
    let bits = 0n;
    let n = 0;
    for (let k = 0; k < 8; k++) {
      const c = String.fromCharCode(src[i + k]!);
      if (c === "=") {
        if (
          i + 8 !== src.length ||
          ![2, 4, 5, 7].includes(k) ||
          !/^=*$/.test(src.subarray(i + k, i + 8).toString("latin1"))
        ) {
          return `illegal base32 data at input byte ${i + k}`;
        }
        break;
      }
      const d = B32.indexOf(c);
      if (d < 0) return `illegal base32 data at input byte ${i + k}`;
      bits |= BigInt(d) << BigInt(35 - 5 * k);
      n = k + 1;
    }
    const nbytes = Math.floor((n * 5) / 8);
    for (let k = 0; k < nbytes; k++) out.push(Number((bits >> BigInt(32 - 8 * k)) & 0xffn));
  }
  return decodeUtf8Faithful(Buffer.from(out));
}

/** hash/adler32.Checksum. */
export function adler32(s: string): number {
  let a = 1;
  let b = 0;
  for (const byte of utf8(s)) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return (b * 65536 + a) >>> 0;
}

/** A hex digest of the UTF-8 bytes of a string (sha1sum, sha256sum, sha512sum). */
export const hash = (alg: string) => (s: string) => createHash(alg).update(utf8(s)).digest("hex");
